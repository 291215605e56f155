/**
 * Entry point of an ONNX Runtime session's worker thread (bundled as onnx-session-worker.js: dist/ for
 * the CLI and server, out/main/ for the desktop app). onnx-session-host.ts starts it and says why a
 * session runs on a thread of its own. One session per thread: the image encoder's (embedding, and the
 * query image of an image search) is served here; the exact search graph's runs on the vector index's
 * search worker (retrieval/search-worker.ts), which serves the same tasks (onnx-session-tasks.ts).
 */
import { defineWorker } from '../workers/protocol.ts';
import { sessionTasks } from './onnx-session-tasks.ts';

defineWorker(sessionTasks().tasks);

export type { OnnxSessionTasks, OpenRequest, RawTensor, SessionInfo } from './onnx-session-tasks.ts';
