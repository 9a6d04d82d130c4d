import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The console is served by paymux at /console/ from consoleui/dist (go:embed).
// "@paymux/client" is gen/ts, linked into node_modules: preserveSymlinks makes
// its imports of @bufbuild/protobuf resolve from web/node_modules.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  resolve: {
    preserveSymlinks: true,
    dedupe: ["@bufbuild/protobuf", "@connectrpc/connect", "react", "react-dom"],
  },
  build: {
    outDir: "../consoleui/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      output: {
        // Libraries in chunks of their own: they change less often than the
        // console, so browsers keep them across releases.
        codeSplitting: {
          groups: [
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler|react-router)[\\/]/ },
            { name: "mantine", test: /node_modules[\\/]@mantine[\\/]/ },
            { name: "protobuf", test: /node_modules[\\/](@bufbuild|@connectrpc)[\\/]/ },
            { name: "client", test: /gen[\\/]ts[\\/]src[\\/]|@paymux[\\/]client[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    // `npm run dev` against a paymux serving on the default port.
    proxy: {
      "/console/auth": "http://127.0.0.1:8080",
      "/paymux.v1.": "http://127.0.0.1:8080",
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
