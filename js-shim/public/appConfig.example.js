// Used only by `flex-plugin start` (local Flex dev server); copy to appConfig.js.
var appConfig = {
  pluginService: { enabled: true, url: '/plugins' },
  logLevel: 'info',
};
