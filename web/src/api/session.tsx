// The signed-in state of the console: the CSRF token from /console/auth, the
// console session from ConsoleService.GetConsoleSession, and the selected store.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { DescMethod } from "@bufbuild/protobuf";
import { ConsoleService } from "@paymux/client";
import type { ConsoleMembership, GetConsoleSessionResponse } from "@paymux/client";
import { AuthError, getSession, signIn as postSignIn, signOut as postSignOut } from "./auth";
import { callState, client } from "./transport";
import { canCall, changesLive } from "../lib/roles";
import type { Caller } from "../lib/roles";

export type AuthStatus =
  | { status: "loading" }
  | { status: "error"; error: unknown }
  | { status: "signedOut"; reason?: "expired" | "signedOut" }
  | { status: "signedIn"; csrfToken: string };

export const storeStorageKey = "paymux.console.store";

/** pickStore keeps the remembered store when the user still has it, else the first. */
export function pickStore(stores: readonly ConsoleMembership[], remembered: string | null): string {
  if (remembered && stores.some((s) => s.storeId === remembered)) return remembered;
  return stores[0]?.storeId ?? "";
}

interface AuthContextValue {
  auth: AuthStatus;
  signIn: (email: string, password: string) => Promise<void>;
  signedIn: (csrfToken: string) => void;
  signOut: () => Promise<void>;
  retry: () => void;
}

const AuthContext = createContext<AuthContextValue | undefined>(undefined);

function remember(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not kept
  }
}

function recall(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [auth, setAuth] = useState<AuthStatus>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  const queryClient = useQueryClient();

  // Every session starts clean: no store and no data of whoever was signed
  // in before in this tab (sign-in, a password link, a reload).
  const signedIn = useCallback(
    (csrfToken: string) => {
      callState.csrfToken = csrfToken;
      callState.storeId = "";
      queryClient.clear();
      setAuth({ status: "signedIn", csrfToken });
    },
    [queryClient],
  );

  useEffect(() => {
    let live = true;
    getSession().then(
      (a) => live && signedIn(a.csrfToken),
      (e) => {
        if (!live) return;
        if (e instanceof AuthError && e.status === 401) setAuth({ status: "signedOut" });
        else setAuth({ status: "error", error: e });
      },
    );
    return () => {
      live = false;
    };
  }, [attempt, signedIn]);

  useEffect(() => {
    callState.onUnauthenticated = () => {
      callState.csrfToken = "";
      callState.storeId = "";
      queryClient.clear();
      setAuth({ status: "signedOut", reason: "expired" });
    };
    return () => {
      callState.onUnauthenticated = undefined;
    };
  }, [queryClient]);

  const value = useMemo<AuthContextValue>(
    () => ({
      auth,
      signedIn,
      signIn: async (email, password) => {
        const a = await postSignIn(email, password);
        signedIn(a.csrfToken);
      },
      // The console shows signed out only once the server has ended the
      // session (or it had ended already): on a shared computer a sign-out
      // that silently failed would leave the session open.
      signOut: async () => {
        if (auth.status === "signedIn") {
          try {
            await postSignOut(auth.csrfToken);
          } catch (e) {
            if (!(e instanceof AuthError && e.status === 401)) throw e;
          }
        }
        callState.csrfToken = "";
        callState.storeId = "";
        queryClient.clear();
        setAuth({ status: "signedOut", reason: "signedOut" });
      },
      retry: () => {
        setAuth({ status: "loading" });
        setAttempt((n) => n + 1);
      },
    }),
    [auth, signedIn, queryClient],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error("useAuth outside AuthProvider");
  return v;
}

interface ConsoleContextValue {
  session: GetConsoleSessionResponse;
  storeId: string;
  store: ConsoleMembership | undefined;
  setStoreId: (id: string) => void;
  caller: Caller;
}

const ConsoleContext = createContext<ConsoleContextValue | undefined>(undefined);

export const sessionQueryKey = ["console-session"] as const;

/** useConsoleSessionQuery loads GetConsoleSession once signed in. */
export function useConsoleSessionQuery() {
  return useQuery({
    queryKey: sessionQueryKey,
    queryFn: () => client(ConsoleService).getConsoleSession({}),
    staleTime: 60_000,
  });
}

export function ConsoleProvider({
  session,
  children,
}: {
  session: GetConsoleSessionResponse;
  children: ReactNode;
}) {
  const [storeId, setStore] = useState(() => {
    const id = pickStore(session.stores, recall(storeStorageKey));
    callState.storeId = id;
    return id;
  });
  // The session may change (a store added or removed): keep the choice valid.
  const valid = pickStore(session.stores, storeId);
  if (valid !== storeId) {
    callState.storeId = valid;
    setStore(valid);
  }
  const setStoreId = useCallback((id: string) => {
    callState.storeId = id;
    remember(storeStorageKey, id);
    setStore(id);
  }, []);
  const store = session.stores.find((s) => s.storeId === storeId);
  const value = useMemo<ConsoleContextValue>(
    () => ({
      session,
      storeId,
      store,
      setStoreId,
      caller: { role: store?.role, platformAdmin: session.platformAdmin },
    }),
    [session, storeId, store, setStoreId],
  );
  return <ConsoleContext.Provider value={value}>{children}</ConsoleContext.Provider>;
}

export function useConsole(): ConsoleContextValue {
  const v = useContext(ConsoleContext);
  if (!v) throw new Error("useConsole outside ConsoleProvider");
  return v;
}

/** useCan says whether the caller's role in the selected store admits a method. */
/** useChangesLive says whether the caller's changes may reach LIVE mode. */
export function useChangesLive(): boolean {
  return changesLive(useConsole().caller);
}

export function useCan(method: DescMethod): boolean {
  return canCall(useConsole().caller, method);
}
