// A real OpenID provider for the single sign-on tests: panva's oidc-provider (OpenID Certified),
// on 127.0.0.1 at a port the system picks, with its own interaction pages (a login form that takes
// any login name, then a consent page) and a fresh RSA signing key each run.
//
// The tests pass in what the provider knows, as JSON in environment variables:
//   OIDC_ACCOUNTS  {"<login>": {"email": "...", "email_verified": true, "name": "..."}, ...}
//   OIDC_CLIENTS   [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."]}, ...]
// and read the issuer from the one line printed once it listens: {"issuer": "http://127.0.0.1:N"}.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";

import Provider from "oidc-provider";

const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? "{}");
const clients = JSON.parse(process.env.OIDC_CLIENTS ?? "[]");

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), use: "sig", alg: "RS256" };

const server = createServer();
server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: client.client_secret ? "client_secret_basic" : "none",
      ...client,
    })),
    jwks: { keys: [signing] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...account }; } };
    },
  });
  provider.on("server_error", (_ctx, error) => console.error(error));
  server.on("request", provider.callback());
  console.log(JSON.stringify({ issuer }));
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
