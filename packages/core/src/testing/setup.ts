// Vitest setup for every package: select the backend named by RNODE_BACKEND
// (one Vitest project per backend) before any test runs.
import { existsSync } from 'node:fs';
import { beforeAll } from 'vitest';
import { useBackend, type BackendName } from '../backends/index.js';

const name = (process.env.RNODE_BACKEND ?? 'cpu') as BackendName;

/** Debian's chromium package ships SwiftShader's Vulkan ICD (needs libvulkan1 too). */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Dawn reads VK_ICD_FILENAMES when it creates its instance, so set it before the
// webgpu plugin starts Dawn. Without a GPU this runs WebGPU on SwiftShader.
if (name === 'webgpu' && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

beforeAll(async () => {
  await useBackend(name);
});
