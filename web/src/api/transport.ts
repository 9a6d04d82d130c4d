// The Connect transport to paymux's API from the browser: same origin, JSON,
// the session cookie sent by the browser, and on every call the CSRF token
// and the selected store.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client, Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";

interface CallState {
  csrfToken: string;
  storeId: string;
  onUnauthenticated: (() => void) | undefined;
}

/** The values the interceptor adds to calls; set by the session and the store switcher. */
export const callState: CallState = { csrfToken: "", storeId: "", onUnauthenticated: undefined };

/** consoleHeaders are the headers every API call carries. */
export function consoleHeaders(state: Pick<CallState, "csrfToken" | "storeId">): Record<string, string> {
  const h: Record<string, string> = {};
  if (state.csrfToken) h["X-CSRF-Token"] = state.csrfToken;
  if (state.storeId) h["Paymux-Store"] = state.storeId;
  return h;
}

const consoleInterceptor: Interceptor = (next) => async (req) => {
  for (const [k, v] of Object.entries(consoleHeaders(callState))) req.header.set(k, v);
  try {
    return await next(req);
  } catch (e) {
    if (e instanceof ConnectError && e.code === Code.Unauthenticated) callState.onUnauthenticated?.();
    throw e;
  }
};

export const transport = createConnectTransport({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  useBinaryFormat: false,
  interceptors: [consoleInterceptor],
  fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: "same-origin" }),
});

const clients = new Map<DescService, unknown>();

/** client returns the (shared) Connect client of a service. */
export function client<T extends DescService>(service: T): Client<T> {
  let c = clients.get(service) as Client<T> | undefined;
  if (!c) {
    c = createClient(service, transport);
    clients.set(service, c);
  }
  return c;
}
