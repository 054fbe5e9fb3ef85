'use strict';
/**
 * MOS summary (pure). The one place where numbers are rounded.
 *
 * Input: Voice Insights Call Metric items, either as the `twilio` helper
 * returns them (top level camelCased: `m.sdkEdge`, nested keys untouched:
 * `m.sdkEdge.interval.mos.value`) or in Twilio's wire shape (`m.sdk_edge...`).
 *
 * A sample is usable when `sdk_edge.interval.mos.value` is a finite JSON
 * number on the MOS scale [1, 5]. Anything else (null, missing, a string,
 * NaN, 0) is skipped, so a summary never carries NaN or null.
 */

const MOS_MIN = 1;
const MOS_MAX = 5;
/** MOS strictly below this counts as "poor" (poorShare). */
const POOR_THRESHOLD = 3.5;
const SOURCE = 'voice-insights';

/**
 * Half-up rounding to 2 decimals. Float noise is snapped first (to 1e-9) so
 * that an exact tie such as (4.30 + 4.31) / 2 = 4.305 rounds up to 4.31 even
 * when the floating-point sum lands on 4.304999999....
 * @param {number} x finite number
 * @returns {number}
 */
function round2(x) {
  const snapped = Number(x.toFixed(9));
  return Number(`${Math.round(Number(`${snapped}e2`))}e-2`);
}

/** @returns {number|undefined} the sdk_edge interval MOS of one metric item, if usable */
function usableMos(metric) {
  if (!metric || typeof metric !== 'object') return undefined;
  const edge = metric.sdkEdge !== undefined ? metric.sdkEdge : metric.sdk_edge;
  const value = edge && edge.interval && edge.interval.mos ? edge.interval.mos.value : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (value < MOS_MIN || value > MOS_MAX) return undefined;
  return value;
}

/**
 * Streaming accumulator, so pages can be folded in as they arrive.
 * `result()` is null when no sample was usable (caller answers not_ready).
 */
function createAccumulator() {
  let samples = 0;
  let sum = 0;
  let minimum = Infinity;
  let poor = 0;
  return {
    add(metrics) {
      for (const m of metrics || []) {
        const v = usableMos(m);
        if (v === undefined) continue;
        samples += 1;
        sum += v;
        if (v < minimum) minimum = v;
        if (v < POOR_THRESHOLD) poor += 1;
      }
      return this;
    },
    get samples() {
      return samples;
    },
    result() {
      if (samples === 0) return null;
      return {
        average: round2(sum / samples),
        minimum: round2(minimum),
        poorShare: round2(poor / samples),
        samples,
        source: SOURCE,
      };
    },
  };
}

/** @returns {null|{average:number,minimum:number,poorShare:number,samples:number,source:string}} */
function summarise(metrics) {
  return createAccumulator().add(metrics).result();
}

module.exports = { summarise, createAccumulator, usableMos, round2 };
