// Entry point, as `flex-plugin build` expects: exactly one loadPlugin call.
// Flex (or the e2e host page) provides Twilio.Flex.Plugins.init, which
// instantiates the class and calls init(flex, manager).
import * as FlexPlugin from '@twilio/flex-plugin';

import MosScorePlugin from './MosScorePlugin';

FlexPlugin.loadPlugin(MosScorePlugin);
