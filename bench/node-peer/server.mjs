// The Node peer for the benchmark: Express + jose, the idiomatic stack, serving
// GET /api/v1/issues with the same checks as issues-app (RS256 JWT from the IdP's JWKS via
// createRemoteJWKSet, exact issuer, audience, `issues:view` scope) and the same response from
// the same SQLite data (sql.js: SQLite compiled to WebAssembly, no native addon to download).
//
// Environment: PORT, ISSUER, JWKS_URL, AUDIENCE, DATABASE (SQLite file), WORKERS (1 = no cluster).
import cluster from "node:cluster";
import fs from "node:fs";
import express from "express";
import { createRemoteJWKSet, jwtVerify } from "jose";
import initSqlJs from "sql.js";

const workers = Number(process.env.WORKERS ?? 1);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on("exit", () => process.exit(1));
} else {
  const SQL = await initSqlJs();
  const db = new SQL.Database(fs.readFileSync(process.env.DATABASE));
  const page = db.prepare(
    "SELECT id, title, description, author_sub, author_name, created_at FROM issues WHERE id < ? ORDER BY id DESC LIMIT ?",
  );
  const jwks = createRemoteJWKSet(new URL(process.env.JWKS_URL));
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");

  app.get("/api/v1/issues", async (req, res) => {
    const header = req.get("authorization") ?? "";
    const [scheme, token] = header.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token) {
      return res.status(401).set("www-authenticate", 'Bearer realm="node-peer"').json({ error: "unauthorized" });
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: ["RS256"],
        issuer: process.env.ISSUER,
        audience: process.env.AUDIENCE,
        typ: "at+jwt",
      }));
    } catch {
      return res.status(401).json({ error: "invalid_token" });
    }
    const scopes = typeof payload.scope === "string" ? payload.scope.split(" ") : payload.scope ?? [];
    if (!scopes.includes("issues:view")) {
      return res.status(403).json({ error: "insufficient_scope" });
    }
    const limit = 20;
    page.bind([Number.MAX_SAFE_INTEGER, limit + 1]);
    const issues = [];
    while (page.step()) issues.push(page.getAsObject());
    page.reset();
    const more = issues.length > limit;
    if (more) issues.length = limit;
    res.json({ issues, next_before: more ? issues[issues.length - 1].id : null });
  });

  app.listen(Number(process.env.PORT), "127.0.0.1");
}
