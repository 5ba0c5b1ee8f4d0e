// panva's oidc-provider (OpenID Certified), configured the way Asgardeo behaves, as the
// independent provider the app is tested against:
//   - issuer `<base>/oauth2/token`, discovery under it, Asgardeo's endpoint paths;
//   - a confidential client with client_secret_basic, PKCE S256 required;
//   - JWT access tokens for the Issues API (resource indicators), refresh tokens, revocation,
//     introspection, RP-initiated logout;
//   - users john (Manager) and emily (Employee) signing in through a real login form, with the
//     API scopes their role allows; other requested scopes are dropped, not refused.
//
// Environment: REDIRECT_URI, POST_LOGOUT_REDIRECT_URI (required), PORT (default 0),
// ACCESS_TOKEN_TTL (seconds, default 3600). Prints "listening <base>" when ready.
import http from "node:http";
import crypto from "node:crypto";
import { once } from "node:events";
import Provider, { errors } from "oidc-provider";

const API = "https://issues-app.local/api";
const CLIENT_ID = "issues-app-dev-client";
const CLIENT_SECRET = "issues-app-dev-secret-change-me";
const ROLE_SCOPES = { Manager: ["issues:view", "issues:create"], Employee: ["issues:view"] };
const USERS = {
  john: { password: "john-dev-password", sub: "0b4d7f64-3a0e-4c1b-9f58-6a2e8d1c7b01", given_name: "John", family_name: "Manager", email: "john@dev.example", role: "Manager" },
  emily: { password: "emily-dev-password", sub: "7c9e2a15-5d3f-4b6a-8e21-0f4c9b3d2a02", given_name: "Emily", family_name: "Employee", email: "emily@dev.example", role: "Employee" },
};
const bySub = Object.fromEntries(Object.values(USERS).map((user) => [user.sub, user]));

const redirectUri = process.env.REDIRECT_URI;
const postLogoutRedirectUri = process.env.POST_LOGOUT_REDIRECT_URI;
if (!redirectUri || !postLogoutRedirectUri) {
  console.error("REDIRECT_URI and POST_LOGOUT_REDIRECT_URI are required");
  process.exit(2);
}

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const server = http.createServer();
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
await once(server, "listening");
const base = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "peer-op-1", alg: "RS256", use: "sig" };

const provider = new Provider(`${base}/oauth2/token`, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutRedirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
  pkce: { required: () => true },
  scopes: ["openid", "offline_access", "profile", "email", "internal_login"],
  claims: { openid: ["sub"], profile: ["name", "given_name", "family_name"], email: ["email", "email_verified"] },
  // Asgardeo puts profile claims in the ID token; so does this provider.
  conformIdTokenClaims: false,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  ttl: { AccessToken: Number(process.env.ACCESS_TOKEN_TTL ?? 3600), IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  routes: {
    authorization: "/oauth2/authorize",
    token: "/oauth2/token",
    jwks: "/oauth2/jwks",
    userinfo: "/oauth2/userinfo",
    introspection: "/oauth2/introspect",
    revocation: "/oauth2/revoke",
    end_session: "/oidc/logout",
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx, sub) => {
    const user = bySub[sub];
    if (!user) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        name: `${user.given_name} ${user.family_name}`,
        given_name: user.given_name,
        family_name: user.family_name,
        email: user.email,
        email_verified: true,
      }),
    };
  },
  features: {
    // Its built-in development interactions grant any scope to anyone: replaced below.
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><html><head><title>Sign out</title></head><body>
          <h1>Sign out?</h1>${form}
          <button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button></body></html>`;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== API) throw new errors.InvalidTarget();
        return { scope: "issues:view issues:create", audience: API, accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } };
      },
    },
  },
});

function loginPage(uid, error = "", username = "") {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · peer OP</title></head><body>
    <h1>Sign in</h1>
    ${error ? `<p id="login-error" role="alert">${escape(error)}</p>` : ""}
    <form method="post" action="/interaction/${escape(uid)}/login">
      <input type="hidden" name="interaction" value="${escape(uid)}">
      <input type="hidden" name="csrf_token" value="${escape(uid)}">
      <label for="username">Username</label><input id="username" name="username" value="${escape(username)}">
      <label for="password">Password</label><input id="password" name="password" type="password">
      <button type="submit">Sign in</button>
    </form></body></html>`;
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16384) throw new Error("body too large");
  }
  return Object.fromEntries(new URLSearchParams(body));
}

// Consent as Asgardeo decides it: the user's role scopes are granted, the rest rejected (so the
// provider does not ask again), OIDC scopes pass through.
async function grantByRole(interaction) {
  const { prompt: { details }, params, session: { accountId } } = interaction;
  const user = bySub[accountId];
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(" "));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    const allowed = scopes.filter((scope) => ROLE_SCOPES[user.role].includes(scope));
    const rejected = scopes.filter((scope) => !allowed.includes(scope));
    if (allowed.length) grant.addResourceScope(indicator, allowed.join(" "));
    if (rejected.length) grant.rejectResourceScope(indicator, rejected.join(" "));
  }
  return grant.save();
}

const callback = provider.callback();
server.on("request", async (req, res) => {
  try {
    const url = new URL(req.url, base);
    // Asgardeo serves discovery under its issuer (the token endpoint URL).
    if (url.pathname === "/oauth2/token/.well-known/openid-configuration") {
      req.url = "/.well-known/openid-configuration";
      return callback(req, res);
    }
    const match = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!match) return callback(req, res);

    const interaction = await provider.interactionDetails(req, res);
    if (interaction.uid !== match[1]) throw new Error("interaction mismatch");
    if (req.method === "GET" && interaction.prompt.name === "login") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      return res.end(loginPage(interaction.uid));
    }
    if (req.method === "GET" && interaction.prompt.name === "consent") {
      const grantId = await grantByRole(interaction);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    if (req.method === "POST" && match[2]) {
      const form = await readForm(req);
      const user = USERS[form.username];
      if (!user || user.password !== form.password) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        return res.end(loginPage(interaction.uid, "Wrong username or password.", form.username ?? ""));
      }
      return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
    }
    res.writeHead(400, { "content-type": "text/plain" });
    res.end("unexpected interaction request");
  } catch (error) {
    res.writeHead(400, { "content-type": "text/plain" });
    res.end(`interaction failed: ${error.message}`);
  }
});

console.log(`listening ${base}`);
