// The console's sign-in endpoints: plain JSON over HTTP on /console/auth/*
// (not Connect), because they set and clear the session cookie.

/** AuthError is a refusal from /console/auth/*, with the server's code and message. */
export class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly lockedUntil?: string,
  ) {
    super(message);
    this.name = "AuthError";
  }
}

export interface CsrfAnswer {
  csrfToken: string;
}

export interface SetupLink {
  /** Empty for the first owner's link: they choose their email. */
  email: string;
  expiresAt: string;
}

const base = "/console/auth";

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, { credentials: "same-origin", ...init });
  } catch (e) {
    throw new AuthError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  if (!res.ok) {
    throw new AuthError(
      res.status,
      typeof body.code === "string" ? body.code : `http_${res.status}`,
      typeof body.message === "string" ? body.message : res.statusText,
      typeof body.lockedUntil === "string" ? body.lockedUntil : undefined,
    );
  }
  return body as T;
}

function post<T>(path: string, body: unknown, csrfToken?: string): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  return call<T>(path, { method: "POST", headers, body: JSON.stringify(body) });
}

export function getSession(): Promise<CsrfAnswer> {
  return call<CsrfAnswer>("/session");
}

export function signIn(email: string, password: string): Promise<CsrfAnswer> {
  return post<CsrfAnswer>("/sign-in", { email, password });
}

export function signOut(csrfToken: string): Promise<void> {
  return post<void>("/sign-out", {}, csrfToken);
}

/** getSetupLink reads a password link; the token goes in the body, never in a URL. */
export function getSetupLink(token: string): Promise<SetupLink> {
  return post<SetupLink>("/setup/link", { token });
}

export function completeSetup(token: string, password: string, email?: string): Promise<CsrfAnswer> {
  const body: Record<string, string> = { token, password };
  if (email !== undefined && email !== "") body.email = email;
  return post<CsrfAnswer>("/setup", body);
}

/** The least password length the server accepts. */
export const minPasswordLength = 10;

/** tokenFromHash reads the setup token from a URL fragment like "#token=abc". */
export function tokenFromHash(hash: string): string {
  const h = hash.startsWith("#") ? hash.slice(1) : hash;
  return new URLSearchParams(h).get("token") ?? "";
}
