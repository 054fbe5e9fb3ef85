// The browser entry of the real Flex UI bundle that the e2e page loads
// (built by e2e/flex/build.js). It only puts the real packages on window:
// the page harness (e2e/flex/harness.js) does the rest with their public API.
import * as Flex from '@twilio/flex-ui';
import * as Redux from 'redux';
import { Device, Call } from '@twilio/voice-sdk';

window.Flex = Flex;
window.Redux = Redux;
window.VoiceSDK = { Device, Call };
