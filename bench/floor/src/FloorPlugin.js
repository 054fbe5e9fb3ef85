import { FlexPlugin } from '@twilio/flex-plugin';

/** The smallest possible Flex plugin: what every plugin pays before its own code. */
export default class FloorPlugin extends FlexPlugin {
  constructor() {
    super('FloorPlugin');
  }

  // eslint-disable-next-line class-methods-use-this
  init() {}
}
