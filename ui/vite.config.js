import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { writeFileSync } from 'node:fs';

// emptyOutDir clears dist/ on every build; put back the .keep file that lets `go:embed all:dist` compile unbuilt.
const keepFile = {
  name: 'playgram-keep',
  closeBundle() { writeFileSync(new URL('../pb_public/dist/.keep', import.meta.url), ''); },
};

// The build goes to ../pb_public/dist, which the Go binary embeds (see pb_public/embed.go).
export default defineConfig({
  plugins: [
    svelte({
      onwarn(warning, handler) {
        // Scrollable tables and lists get tabindex="0" on purpose: axe's scrollable-region-focusable (WCAG 2.1.1)
        // needs keyboard users to be able to scroll them.
        if (warning.code === 'a11y_no_noninteractive_tabindex') return;
        handler(warning);
      },
    }),
    keepFile,
  ],
  build: {
    outDir: '../pb_public/dist',
    emptyOutDir: true,
    assetsInlineLimit: 0, // no data: scripts or styles; everything is a same-origin file
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8090' } },
});
