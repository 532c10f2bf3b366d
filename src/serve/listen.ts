/** @module serve/listen
 * Starting to listen (docs/api.md): the OS's refusals (port in use, privileged port, an address not on
 * this machine) become coded errors naming host:port with what to do, instead of SP_ERR_INTERNAL.
 * Which host and port to use is cli/serve's. */
import type { FastifyInstance } from 'fastify';
import { StockpipeError } from '../core/errors.js';

const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** The coded error for a failed listen, or the error unchanged when it is not an OS refusal. */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const at = hostPort(host, port);
  switch (code) {
    case 'EADDRINUSE':
      return new StockpipeError('SP_ERR_PORT_IN_USE', `cannot listen on ${at}: the address is already in use by another process`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StockpipeError('SP_ERR_LISTEN_DENIED', `cannot listen on ${at}: permission denied (${code})${port > 0 && port < 1024 ? `; ports below 1024 need privileges` : ''}`, { cause: err });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new StockpipeError('SP_ERR_USAGE', `cannot listen on ${at}: --host ${JSON.stringify(host)} is not an address of this machine (${code})`, {
        hint: 'Use 127.0.0.1 (this machine only, the default), an address of one of its interfaces, or 0.0.0.0 for all (then set an API token: docs/security.md).', cause: err,
      });
    default:
      return err;
  }
}

/** app.listen, with listenError's codes. Returns the bound port (useful with port 0). */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<number> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StockpipeError('SP_ERR_USAGE', `--port ${port} is not a port number (0 to 65535)`, { hint: 'Use e.g. --port 8000, or --port 0 for any free port.' });
  }
  try {
    await app.listen({ port, host });
  } catch (err) {
    throw listenError(err, host, port);
  }
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}
