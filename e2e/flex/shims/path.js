// The few `path` functions browser code in the Flex tree calls.
const join = (...parts) => parts.filter(Boolean).join('/').replace(/\/+/g, '/');
module.exports = {
  sep: '/',
  join,
  resolve: join,
  basename: (p, ext) => {
    const b = String(p).split('/').pop();
    return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
  },
  dirname: (p) => String(p).split('/').slice(0, -1).join('/') || '/',
  extname: (p) => (/\.[^./]*$/.exec(String(p)) || [''])[0],
};
