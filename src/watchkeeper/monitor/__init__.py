"""Quality monitoring: drift tests, mergeable profiles and trend detection."""
