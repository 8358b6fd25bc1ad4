// The writer of long event streams (a job's events) against a client that stops reading: what a stalled
// reader leaves in the server's memory stays bounded, and once it reads again it gets every event that
// is not superseded, in order, and the latest of those that are. Real sockets on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { EventWriter } from '../src/routes/event-stream.js';

describe('EventWriter', () => {
  let response: ServerResponse | undefined;
  const server = createServer((_request, reply) => {
    reply.writeHead(200, { 'content-type': 'text/event-stream' });
    response = reply;
  });
  after(() => server.close());

  it('keeps one waiting progress event while the client does not read, and loses no other event', async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    client.write(`GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`);
    client.pause();
    after(() => client.destroy());
    while (response === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const reply = response;
    const events = new EventWriter(reply);
    const pad = 'x'.repeat(1000);
    // 40 MB of progress if every event were kept: far past what the sockets' buffers take.
    for (let i = 0; i < 20_000; i++) events.latest('progress', { i, pad });
    events.send('state', { state: 'halfway' });
    for (let i = 20_000; i < 40_000; i++) events.latest('progress', { i, pad });
    assert.ok(reply.writableLength < 256 * 1024, `${reply.writableLength} bytes wait in the process`);
    events.send('completed', { done: true });
    reply.end();

    client.resume();
    let text = '';
    for await (const chunk of client) text += chunk.toString('latin1');
    const names = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map(([, name, data]) => ({
      name,
      data: JSON.parse(data as string) as { i?: number },
    }));
    const order = names.map(({ name }) => name);
    assert.equal(order.filter((name) => name === 'state').length, 1);
    assert.equal(order.at(-1), 'completed');
    const progress = names.filter(({ name }) => name === 'progress').map(({ data }) => data.i as number);
    assert.ok(progress.every((value, index) => index === 0 || value > (progress[index - 1] as number)));
    const state = order.indexOf('state');
    // The latest progress before each event that is always written came just before it.
    assert.equal(names[state - 1]?.data.i, 19_999);
    assert.equal(names.at(-2)?.data.i, 39_999);
    assert.ok(progress.length < 40_000, `${progress.length} progress events reached the client`);
  });
});
