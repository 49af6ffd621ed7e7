import { invalidRequest } from './api-error.js';
import type { Fault, FaultControl } from './faults.js';
import type { Route } from './http-server.js';

/**
 * `/v1/__emulator/faults`: the HTTP face of FaultControl, for emulators run
 * out of process (`npm run emulator`). No auth, no faults of its own.
 */
export function faultRoutes(faults: FaultControl): Route[] {
  const state = () => ({ object: 'emulator.faults', data: faults.list(), injected: faults.injectedCount });
  return [
    {
      method: 'GET',
      path: '/v1/__emulator/faults',
      admin: true,
      handler() {
        return { status: 200, json: state() };
      },
    },
    {
      method: 'POST',
      path: '/v1/__emulator/faults',
      admin: true,
      async handler(ctx) {
        let raw: Fault | Fault[] | { faults: Fault[] };
        try {
          raw = JSON.parse((await ctx.readBody()).toString('utf8') || '[]') as typeof raw;
        } catch {
          throw invalidRequest('We could not parse the JSON body of your request.');
        }
        faults.add('faults' in raw && Array.isArray(raw.faults) ? raw.faults : (raw as Fault | Fault[]));
        return { status: 200, json: state() };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/__emulator/faults',
      admin: true,
      handler() {
        faults.reset();
        return { status: 200, json: state() };
      },
    },
  ];
}
