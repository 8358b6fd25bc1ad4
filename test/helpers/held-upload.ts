// An upload that declares a large body and sends only its first kilobyte, over a raw socket: it holds its
// declared length of the budget of bodies held at once (BODY_BUDGET_BYTES) until the socket is destroyed.
import { connect, type Socket } from 'node:net';

/** Opens a POST of a JSON body to `path` declaring `bytes`; resolves once its first kilobyte is written. */
export async function heldUpload(base: string, path: string, bytes: number): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes}\r\n\r\n${' '.repeat(1024)}`,
  );
  return socket;
}
