import { defineConfig } from 'vite';

export default defineConfig({
  base: './', // relative URLs: the build can be hosted under any path
  worker: { format: 'es' }, // module workers: the training worker imports the packages
  build: { target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
});
