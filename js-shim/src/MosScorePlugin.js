import { FlexPlugin } from '@twilio/flex-plugin';

import { loadCore } from './core';

const PLUGIN_NAME = 'MosScorePlugin';

/**
 * Thin loader: all product logic lives in the Rust/wasm core. init() loads
 * the wasm once and hands Flex, the manager and the build-time Functions URL
 * to the core's start(). The running plugin is owned by the wasm module, not
 * by this instance: Flex's loader drops the instance after init (issue #9).
 *
 * Flex emits taskWrapup without waiting for plugins (bench/README.md), so
 * wrap-ups heard while the wasm loads are queued here and handed to start().
 */
export default class MosScorePlugin extends FlexPlugin {
  constructor() {
    super(PLUGIN_NAME);
  }

  init(flex, manager) {
    const earlyWrapups = [];
    const hold = (task) => earlyWrapups.push(task);
    const events = manager && manager.events;
    if (events) events.addListener('taskWrapup', hold);
    const release = () => events && events.removeListener('taskWrapup', hold);
    return loadCore()
      .then(({ start }) => {
        // Same tick: no wrap-up can fall between the two listeners.
        release();
        start(flex, manager, { functionsBaseUrl: process.env.FLEX_APP_FUNCTIONS_BASE_URL, earlyWrapups });
      })
      .catch((e) => {
        release();
        // A broken environment must never break the agent's Flex UI.
        // eslint-disable-next-line no-console
        console.error('[mos-score] plugin failed to start:', e);
      });
  }
}
