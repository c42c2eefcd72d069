import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The control plane embeds dist/ in its binary and serves it at /; the dev server proxies
// the API to a control plane on 127.0.0.1:8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
