import { defineConfig } from "vite";

// Run as `vite build console`: paths here are relative to console/.
export default defineConfig({
  base: "/console/",
  build: {
    outDir: "../dist/console",
    emptyOutDir: true,
    // Inlined assets would be data: URLs, which the console's Content-Security-Policy refuses.
    assetsInlineLimit: 0,
  },
});
