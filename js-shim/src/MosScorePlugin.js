import { FlexPlugin } from '@twilio/flex-plugin';

import { loadCore } from './core';

const PLUGIN_NAME = 'MosScorePlugin';

/**
 * Thin loader: all product logic lives in the Rust/wasm core.
 * init() loads the wasm once, hands Flex, the manager and the build-time
 * Functions URL to the core's start(), and keeps the handle it returns
 * (handle.stop() detaches the listener and cancels timers).
 */
export default class MosScorePlugin extends FlexPlugin {
  constructor() {
    super(PLUGIN_NAME);
    this.core = null;
  }

  init(flex, manager) {
    return loadCore()
      .then(({ start }) => {
        this.core = start(flex, manager, {
          functionsBaseUrl: process.env.FLEX_APP_FUNCTIONS_BASE_URL,
        });
      })
      .catch((e) => {
        // A broken environment must never break the agent's Flex UI.
        // eslint-disable-next-line no-console
        console.error('[mos-score] plugin failed to start:', e);
      });
  }
}
