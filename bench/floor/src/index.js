import * as FlexPlugin from '@twilio/flex-plugin';

import EmptyPlugin from './EmptyPlugin';

FlexPlugin.loadPlugin(EmptyPlugin);
