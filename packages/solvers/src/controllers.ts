import * as z from 'zod/mini';
import { RnodeError, numberOption, parseOptions } from '@rnode/core';
import type { ControllerInfo, ControllerPlugin } from './types.js';

/**
 * torchdiffeq's integral (I) controller:
 * factor = min(ifactor, max(safety·ratio^(−1/order), dfactor)), with dfactor → 1 when ratio < 1
 * and factor = ifactor when ratio = 0.
 */
export const integralController: ControllerPlugin<'integral', ControllerInfo> = Object.freeze({
  kind: 'controller' as const,
  name: 'integral' as const,
  description: "torchdiffeq's I controller",
  init: (info: ControllerInfo) => info,
  adapt(info: ControllerInfo, { ratio }: { ratio: number; accepted: boolean }): number {
    if (ratio === 0) return info.ifactor;
    const dfactor = ratio < 1 ? 1 : info.dfactor;
    return Math.min(info.ifactor, Math.max(info.safety * ratio ** (-1 / info.order), dfactor));
  },
});

/** The options of `pid()`: finite coefficients with a positive sum. */
export const pidOptionsSchema = z.object({
  /** Default 0.4. */
  pcoeff: z.optional(numberOption()),
  /** Default 0.3. */
  icoeff: z.optional(numberOption()),
  /** Default 0. */
  dcoeff: z.optional(numberOption()),
});

export type PidOptions = z.input<typeof pidOptionsSchema>;

interface PidState {
  info: ControllerInfo;
  prev1: number;
  prev2: number;
}

/**
 * A PID controller (diffrax's form): after an accepted step
 * factor = safety·r_n^(−(p+i+d)/k)·r_{n−1}^((p+2d)/k)·r_{n−2}^(−d/k), clamped to [1, ifactor];
 * after a rejection the integral rule (clamped to [dfactor, 1]). p = i = 0, d = 0, i = 1 is the
 * integral controller. Defaults pcoeff 0.4, icoeff 0.3, dcoeff 0 (the classic PI controller's
 * exponents 0.7/k and 0.4/k).
 */
export function pid(options: PidOptions = {}): ControllerPlugin<'pid', PidState> {
  const src = 'controller:pid';
  const o = parseOptions(pidOptionsSchema, options, src);
  const p = o.pcoeff ?? 0.4;
  const i = o.icoeff ?? 0.3;
  const d = o.dcoeff ?? 0;
  if (!(p + i + d > 0)) throw new RnodeError('INVALID_OPTIONS', 'pcoeff + icoeff + dcoeff must be positive', { source: src });
  return Object.freeze({
    kind: 'controller' as const,
    name: 'pid' as const,
    description: `PID controller (pcoeff ${p}, icoeff ${i}, dcoeff ${d})`,
    init: (info: ControllerInfo): PidState => ({ info, prev1: 1, prev2: 1 }),
    adapt(s: PidState, { ratio, accepted }: { ratio: number; accepted: boolean }): number {
      const { safety, ifactor, dfactor, order: k } = s.info;
      const r = Math.max(ratio, 1e-10);
      if (!accepted) return Math.min(1, Math.max(dfactor, safety * r ** (-1 / k)));
      const factor = safety * r ** (-(p + i + d) / k) * s.prev1 ** ((p + 2 * d) / k) * s.prev2 ** (-d / k);
      s.prev2 = s.prev1;
      s.prev1 = r;
      return Math.min(ifactor, Math.max(1, factor));
    },
  });
}

export const pidController = pid();
