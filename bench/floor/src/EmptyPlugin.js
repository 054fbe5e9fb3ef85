import { FlexPlugin } from '@twilio/flex-plugin';

export default class EmptyPlugin extends FlexPlugin {
  constructor() {
    super('EmptyPlugin');
  }

  init(flex, manager) {}
}
