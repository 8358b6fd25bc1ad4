// What an uploaded ONNX graph takes and gives, read by onnxruntime in a child process of its own; or why
// onnxruntime cannot load or run it (not ONNX, truncated, an operator it lacks, a shape it cannot run, a run
// on zeros that does not end).
import type { ChildProcess } from 'node:child_process';
import { UnavailableError } from '../../errors.js';
import { startChildProcess } from '../../lib/thread.js';
import type { TensorSpec } from '../../schemas/manifest.js';

export type GraphInspection = { inputs: TensorSpec[]; outputs: TensorSpec[] } | { error: string };

export class GraphInspector {
  constructor(
    private readonly timeoutMs: number,
    /** RLIMIT_DATA of the process (UPLOADED_MODEL_MEMORY_MB, as the model's own process will have). */
    private readonly dataLimitBytes: number | undefined,
  ) {}

  /**
   * Opens the graph in a child process, reads its inputs and outputs and runs it once on zeros. When opening
   * and running take more than `timeoutMs` (a Loop of 2^62 iterations whatever its input never ends) the
   * upload is refused and the process killed. In a thread, as before, such an upload never answered, each
   * try left one more core busy, and the server could not exit: a thread cannot be stopped inside
   * onnxruntime's native run.
   */
  async inspect(model: Uint8Array): Promise<GraphInspection> {
    let child: ChildProcess;
    try {
      child = startChildProcess(import.meta.url, 'graph-inspection-process', {
        dataLimitBytes: this.dataLimitBytes,
      });
    } catch (error) {
      // The machine's state (fork refused: ENOMEM, EAGAIN), not the upload's: try again later.
      throw new UnavailableError(
        `cannot start the process that tries an upload now: ${(error as Error).message}`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    return new Promise<GraphInspection>((resolve) => {
      child.on('message', (message) => {
        if (message !== 'ready') {
          resolve(message as GraphInspection);
          return;
        }
        // The clock starts once the process has loaded its modules: the graph's time, not the start's.
        timer = setTimeout(
          () =>
            resolve({
              error: `opening it and one run on zeros did not end within ${this.timeoutMs} ms (MODEL_INSPECTION_TIMEOUT_MS); a graph whose run does not end cannot be served`,
            }),
          this.timeoutMs,
        );
        child.send(model);
      });
      child.once('error', (error) => resolve({ error: `inspection process failed: ${error.message}` }));
      child.once('exit', (code, signal) =>
        resolve({ error: `inspection process exited (${signal ?? `code ${code}`}) without an answer` }),
      );
    }).finally(() => {
      clearTimeout(timer);
      child.kill('SIGKILL');
    });
  }
}
