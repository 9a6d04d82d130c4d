import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Badge, MantineProvider, createTheme } from "@mantine/core";
import { ModalsProvider } from "@mantine/modals";
import { Notifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter } from "react-router";
import { Code, ConnectError } from "@connectrpc/connect";
import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "./i18n";
import App from "./App";
import { AuthProvider } from "./api/session";

const theme = createTheme({
  primaryColor: "indigo",
  // A badge (a status, a mode, a role) is read whole: it never shrinks into
  // an ellipsis in a narrow table column.
  components: { Badge: Badge.extend({ styles: { root: { minWidth: "max-content" } } }) },
  fontFamily:
    "-apple-system, BlinkMacSystemFont, 'Apple SD Gothic Neo', 'Pretendard', 'Noto Sans KR', 'Malgun Gothic', 'Segoe UI', Roboto, sans-serif",
});

function retry(failures: number, error: unknown): boolean {
  // A refusal does not change on retry; only transient failures are tried again.
  if (error instanceof ConnectError) {
    return failures < 2 && [Code.Unavailable, Code.DeadlineExceeded, Code.Unknown].includes(error.code);
  }
  return failures < 1;
}

const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry, refetchOnWindowFocus: false, staleTime: 10_000 },
    mutations: { retry: false },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="light">
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename="/console">
          <ModalsProvider>
            <Notifications position="bottom-right" autoClose={4000} />
            <AuthProvider>
              <App />
            </AuthProvider>
          </ModalsProvider>
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
