// workerd, fresh isolate, no library: the baseline for the start and the
// first request's round trip seen from outside.


export default {
  async fetch() {
    return Response.json({ first: 0, length: 0 });
  },
};
