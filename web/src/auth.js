// Signing a person in, and keeping their session for the tab.
//
// On AWS: the authorization code flow with PKCE against the user pool's hosted UI — the page never sees a
// password, and the code is useless without the verifier that only this tab holds (RFC 7636, S256).
// Locally: the emulator has no hosted UI, so the page asks for the user name and password itself and sends
// them to the user pool's InitiateAuth (USER_PASSWORD_AUTH, which only the local environment's app client
// allows). Either way the result is the same Cognito access token, sent to the API as a bearer token.

const SESSION_KEY = "imgpipe.session";
const PENDING_KEY = "imgpipe.pkce";

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

// A code verifier: 32 random bytes, base64url (43 characters, inside RFC 7636's 43..128).
export function newVerifier(random = crypto) {
  return base64url(random.getRandomValues(new Uint8Array(32)));
}

export async function challengeOf(verifier, subtle = crypto.subtle) {
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

// The hosted UI's authorize URL for this app (config.signIn: {domain, redirectUri}).
export function authorizeUrl(config, challenge, state) {
  const url = new URL("/oauth2/authorize", config.signIn.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.signIn.redirectUri,
    scope: "openid email profile",
    code_challenge_method: "S256",
    code_challenge: challenge,
    state,
  }).toString();
  return url.toString();
}

export function logoutUrl(config) {
  const url = new URL("/logout", config.signIn.domain);
  url.search = new URLSearchParams({ client_id: config.clientId, logout_uri: config.signIn.logoutUri }).toString();
  return url.toString();
}

export class SignInError extends Error {
  constructor(message, code = "sign_in_failed") {
    super(message);
    this.name = "SignInError";
    this.code = code;
  }
}

// The claims of a token, for display only (the user name, when it expires): the API verifies the signature,
// the page never trusts what it reads here.
export function claimsOf(token) {
  const part = String(token).split(".")[1];
  if (!part) throw new SignInError("not a token", "malformed_token");
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

function sessionOf(accessToken, now = Date.now()) {
  const claims = claimsOf(accessToken);
  const expiresAt = Number(claims.exp) * 1000;
  if (!Number.isFinite(expiresAt) || expiresAt <= now) throw new SignInError("the sign-in has expired", "expired");
  return { accessToken, expiresAt, username: String(claims.username || claims.sub || "") };
}

// The session kept for this tab (sessionStorage: gone with the tab, never shared with another site), or null
// when there is none or it has expired.
export function currentSession(storage = sessionStorage, now = Date.now()) {
  try {
    const saved = JSON.parse(storage.getItem(SESSION_KEY) || "null");
    if (saved && typeof saved.accessToken === "string" && saved.expiresAt > now + 5_000) return saved;
  } catch {
    // an unreadable session is no session
  }
  storage.removeItem(SESSION_KEY);
  return null;
}

export function saveSession(accessToken, storage = sessionStorage, now = Date.now()) {
  const session = sessionOf(accessToken, now);
  storage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function forgetSession(storage = sessionStorage) {
  storage.removeItem(SESSION_KEY);
  storage.removeItem(PENDING_KEY);
}

// Hosted UI, step 1: remember a verifier and a state for this tab, and go to the authorize URL.
export async function startHostedSignIn(config, { storage = sessionStorage, go = (url) => location.assign(url) } = {}) {
  const verifier = newVerifier();
  const state = newVerifier();
  storage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  go(authorizeUrl(config, await challengeOf(verifier), state));
}

// Hosted UI, step 2 (the redirect back): the code exchanged for tokens with the verifier, only when the state
// is the one this tab sent (else it is someone else's code: CSRF). Returns the session, or null when the URL
// carries no answer from the hosted UI.
export async function finishHostedSignIn(config, href, { storage = sessionStorage, fetchImpl = fetch, now = Date.now() } = {}) {
  const params = new URL(href).searchParams;
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(storage.getItem(PENDING_KEY) || "null");
  storage.removeItem(PENDING_KEY);
  if (params.has("error")) throw new SignInError(`sign-in was refused: ${params.get("error_description") || params.get("error")}`);
  if (!pending || params.get("state") !== pending.state) {
    throw new SignInError("this sign-in answer was not requested by this tab; sign in again", "state_mismatch");
  }
  const response = await fetchImpl(new URL("/oauth2/token", config.signIn.domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.clientId,
      code: params.get("code"),
      redirect_uri: config.signIn.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new SignInError("the sign-in could not be completed; sign in again");
  const tokens = await response.json();
  return saveSession(tokens.access_token, storage, now);
}

// Local: USER_PASSWORD_AUTH against the emulator's user pool (config.signIn.endpoint).
export async function passwordSignIn(config, username, password, { storage = sessionStorage, fetchImpl = fetch } = {}) {
  if (!username || !password) throw new SignInError("enter your user name and password", "missing_credentials");
  let response;
  try {
    response = await fetchImpl(config.signIn.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: config.clientId,
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    });
  } catch {
    throw new SignInError("the sign-in service did not answer; try again", "unreachable");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    // Cognito answers a wrong password and an unknown user alike; so does this page.
    throw new SignInError("wrong user name or password", "not_authorized");
  }
  if (!body.AuthenticationResult) {
    throw new SignInError(`this account needs a ${body.ChallengeName || "further"} step first (ask your operator)`, "challenge");
  }
  return saveSession(body.AuthenticationResult.AccessToken, storage);
}
