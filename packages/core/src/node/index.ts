/**
 * `@rnode/core/node`: the Node-only file helpers every run's files go through — atomic,
 * verified writes (`writeFileAtomic`), whole-line appends (`appendFileDurable`), temp-file
 * cleanup, output-directory checks and the run lock. Never imported by browser entries.
 */
export {
  appendFileDurable,
  appendToFd,
  cleanTempFiles,
  describeFsError,
  ensureWritableDir,
  fsyncDir,
  processAlive,
  TEMP_FILE,
  writeAll,
  writeFileAtomic,
  type WriteFileAtomicOptions,
  type WriteFs,
} from './files.js';
export { acquireRunLock, LOCK_FILE, waitForForeignRunLock, type AcquireLockOptions, type LockInfo, type RunLock, type WaitForLockOptions } from './lock.js';
