// The data plane between workers: keyed exchanges between subtasks on different worker processes,
// as batched binary frames over TCP with credit-based flow control.
//
//   DataPlane                one per worker: listens for peers' producers, dials peers for its own
//   RemoteOutputChannel      a producer's ChannelTarget into a remote InputChannel
//   record-batch-codec       ChannelEvent ⇄ bytes (columnar for same-shaped plain records, else v8)
//   frame                    the frames on the TCP stream and their streaming parser

export { DataPlane, DataPlaneError, type ChannelFailureListener, type DataPlaneOptions, type DataPlaneStatus, type RemoteOutputChannel } from './data-plane.ts';
export { ChannelEventDecoder, ChannelEventEncoder, RecordBatchCodecError, decodeChannelEvent, encodeChannelEvent } from './record-batch-codec.ts';
export { FrameError, FrameParser, PROTOCOL_VERSION } from './frame.ts';
