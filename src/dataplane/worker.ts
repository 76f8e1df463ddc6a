// Worker-thread entry of the dataplane, kept for the protocol in host.ts. With cap 0.2.1 it can
// only run where the capture poll handles land on this thread's loop, i.e. never in a worker: the
// binding registers them on uv_default_loop() (the main thread's), and the first frame aborts the
// process (measured). So in a worker this entry refuses with 'fatal' and the reason, before
// opening anything; run the dataplane with startDataplaneInThisThread() on the main thread and the
// control agent in a worker instead.
//
// workerData: { config: TandemConfig, sharedBuffer: SharedArrayBuffer, logLevel }.
import { isMainThread, parentPort } from 'node:worker_threads';

export const CAP_IN_WORKER_ERROR =
  'cap 0.2.1 registers its capture poll handles on the main thread loop (uv_default_loop); receiving ' +
  'in a worker thread aborts the process. Run the dataplane on the main thread ' +
  '(src/dataplane/host.ts startDataplaneInThisThread) and the control agent in a worker.';

if (!isMainThread && parentPort !== null) {
  parentPort.postMessage({ type: 'fatal', error: CAP_IN_WORKER_ERROR });
  parentPort.close();
}
