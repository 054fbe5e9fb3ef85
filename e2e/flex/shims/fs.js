// `fs` in the browser: nothing is read from disk; a module that tries gets an error.
const unavailable = () => {
  throw new Error('fs is not available in the browser');
};
module.exports = { readFileSync: unavailable, existsSync: () => false };
