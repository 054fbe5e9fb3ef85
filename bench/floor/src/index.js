// Same entry point shape as js-shim/src/index.js: exactly one loadPlugin call.
import * as FlexPlugin from '@twilio/flex-plugin';

import FloorPlugin from './FloorPlugin';

FlexPlugin.loadPlugin(FloorPlugin);
