// The error of a run onnxruntime refused, carried from an inference thread to the request as a 422.
import { UnprocessableError } from '../errors.js';

/**
 * A run that onnxruntime refused for the values it was given (inputs are checked against the manifest
 * before any run, so what is left is a node failing on them: an index out of range, a shape a Reshape
 * cannot take, a buffer too large to allocate): the client's input, or the model's, not a server fault.
 */
export class ModelRunError extends UnprocessableError {
  /** onnxruntime's "Non-zero status code returned while running Gather node. Name:'…' Status Message: …". */
  static fromOnnxruntime(message: string): ModelRunError {
    const node = /running (\S+) node\. Name:'([^']*)' Status Message: ([\s\S]*)/.exec(message);
    // Its source file, line and C++ signature say nothing to a client.
    const reason = (node?.[3] ?? message)
      .replace(/\/onnxruntime_src\/\S+:\d+ (?:[^(\n]*\([^)\n]*\) )?/g, '')
      .replace(/^std::bad_alloc$/, 'failed to allocate memory for a buffer it needs (std::bad_alloc)')
      .trim();
    const where = node === null ? '' : `the ${node[1]} node${node[2] ? ` '${node[2]}'` : ''}: `;
    return new ModelRunError(`the model cannot compute this input: ${where}${reason}`);
  }
}
