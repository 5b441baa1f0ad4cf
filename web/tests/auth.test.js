import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import * as auth from "../src/auth.js";

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

const b64url = (text) => Buffer.from(text).toString("base64url");
const token = (claims) => `${b64url(JSON.stringify({ alg: "RS256", kid: "k" }))}.${b64url(JSON.stringify(claims))}.sig`;
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);
const HOSTED = {
  clientId: "client-1",
  signIn: { mode: "hosted", domain: "https://team.auth.eu-west-1.amazoncognito.com", redirectUri: "https://app.example.com/", logoutUri: "https://app.example.com/" },
};

test("the PKCE challenge is the S256 of the verifier (RFC 7636), the verifier 43 url-safe characters", async () => {
  const verifier = auth.newVerifier();
  assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(auth.newVerifier(), verifier);
  const expected = createHash("sha256").update(verifier).digest("base64url");
  assert.equal(await auth.challengeOf(verifier), expected);
  assert.doesNotMatch(await auth.challengeOf(verifier), /[+/=]/); // base64url without padding
});

test("the authorize URL asks for a code with the S256 challenge, this client, its redirect and the state", () => {
  const url = new URL(auth.authorizeUrl(HOSTED, "CHALLENGE", "STATE"));
  assert.equal(url.origin + url.pathname, "https://team.auth.eu-west-1.amazoncognito.com/oauth2/authorize");
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    response_type: "code", client_id: "client-1", redirect_uri: "https://app.example.com/",
    scope: "openid email profile", code_challenge_method: "S256", code_challenge: "CHALLENGE", state: "STATE",
  });
  const out = new URL(auth.logoutUrl(HOSTED));
  assert.equal(out.pathname, "/logout");
  assert.equal(out.searchParams.get("logout_uri"), "https://app.example.com/");
});

test("a hosted sign-in round trip: the code is exchanged with the verifier only when the state is ours", async () => {
  const storage = new MemoryStorage();
  let went;
  await auth.startHostedSignIn(HOSTED, { storage, go: (url) => { went = new URL(url); } });
  const state = went.searchParams.get("state");
  const sent = [];
  const fetchImpl = async (url, init) => {
    sent.push({ url: String(url), body: new URLSearchParams(init.body) });
    return { ok: true, json: async () => ({ access_token: token({ exp: NOW / 1000 + 900, username: "alice" }) }) };
  };
  const session = await auth.finishHostedSignIn(HOSTED, `https://app.example.com/?code=C0DE&state=${state}`, { storage, fetchImpl, now: NOW });
  assert.equal(session.username, "alice");
  assert.equal(sent[0].url, "https://team.auth.eu-west-1.amazoncognito.com/oauth2/token");
  assert.equal(sent[0].body.get("grant_type"), "authorization_code");
  assert.equal(sent[0].body.get("code"), "C0DE");
  const verifier = sent[0].body.get("code_verifier");
  assert.equal(await auth.challengeOf(verifier), went.searchParams.get("code_challenge"));
  assert.equal(auth.currentSession(storage, NOW).username, "alice");
});

test("a code with another state, or an error answer, is refused and nothing is exchanged", async () => {
  const storage = new MemoryStorage();
  await auth.startHostedSignIn(HOSTED, { storage, go: () => {} });
  let calls = 0;
  const fetchImpl = async () => { calls += 1; return { ok: true, json: async () => ({}) }; };
  await assert.rejects(auth.finishHostedSignIn(HOSTED, "https://app.example.com/?code=C&state=forged", { storage, fetchImpl }), { code: "state_mismatch" });
  await assert.rejects(auth.finishHostedSignIn(HOSTED, "https://app.example.com/?code=C&state=x", { storage: new MemoryStorage(), fetchImpl }), { code: "state_mismatch" });
  await assert.rejects(auth.finishHostedSignIn(HOSTED, "https://app.example.com/?error=access_denied", { storage, fetchImpl }), /refused/);
  assert.equal(calls, 0);
  assert.equal(await auth.finishHostedSignIn(HOSTED, "https://app.example.com/", { storage, fetchImpl }), null);
});

test("password sign-in sends InitiateAuth and keeps the access token; a refusal says nothing about which part was wrong", async () => {
  const local = { clientId: "client-1", signIn: { mode: "password", endpoint: "/local/cognito-idp" } };
  const storage = new MemoryStorage();
  let request;
  const ok = async (url, init) => {
    request = { url, init };
    return { ok: true, json: async () => ({ AuthenticationResult: { AccessToken: token({ exp: Date.now() / 1000 + 900, username: "bob" }) } }) };
  };
  const session = await auth.passwordSignIn(local, "bob", "pw", { storage, fetchImpl: ok });
  assert.equal(session.username, "bob");
  assert.equal(request.url, "/local/cognito-idp");
  assert.equal(request.init.headers["X-Amz-Target"], "AWSCognitoIdentityProviderService.InitiateAuth");
  assert.deepEqual(JSON.parse(request.init.body), { AuthFlow: "USER_PASSWORD_AUTH", ClientId: "client-1", AuthParameters: { USERNAME: "bob", PASSWORD: "pw" } });

  const refused = async () => ({ ok: false, json: async () => ({ __type: "UserNotFoundException" }) });
  await assert.rejects(auth.passwordSignIn(local, "nobody", "pw", { storage, fetchImpl: refused }), { code: "not_authorized", message: "wrong user name or password" });
  const challenge = async () => ({ ok: true, json: async () => ({ ChallengeName: "NEW_PASSWORD_REQUIRED" }) });
  await assert.rejects(auth.passwordSignIn(local, "new", "pw", { storage, fetchImpl: challenge }), { code: "challenge" });
  const offline = async () => { throw new TypeError("Failed to fetch"); };
  await assert.rejects(auth.passwordSignIn(local, "bob", "pw", { storage, fetchImpl: offline }), { code: "unreachable" });
  await assert.rejects(auth.passwordSignIn(local, "", "pw", { storage, fetchImpl: ok }), { code: "missing_credentials" });
});

test("a session expires with its token, and a damaged one is no session", () => {
  const storage = new MemoryStorage();
  auth.saveSession(token({ exp: NOW / 1000 + 60, username: "alice" }), storage, NOW);
  assert.equal(auth.currentSession(storage, NOW).username, "alice");
  assert.equal(auth.currentSession(storage, NOW + 58_000), null); // within 5 s of expiry: sign in again
  assert.throws(() => auth.saveSession(token({ exp: NOW / 1000 - 1 }), storage, NOW), { code: "expired" });
  storage.setItem("imgpipe.session", "{not json");
  assert.equal(auth.currentSession(storage, NOW), null);
  assert.throws(() => auth.claimsOf("garbage"), { code: "malformed_token" });
});
