import { defineConfig } from 'vite'

// Static files for the NGINX edge: hashed names under /assets/ (cached for a year there), one
// entry page. Preact's JSX through Vite's own transform; no framework plugin needed.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { conditions: ['development'] },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    sourcemap: true,
    reportCompressedSize: false
  },
  server: {
    // `npm run dev -w apps/web`: the app reloading on change, the API from the running edge.
    proxy: { '/api': `http://127.0.0.1:${process.env.NGINX_PORT ?? '28080'}` }
  }
})
