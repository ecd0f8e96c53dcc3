// The Nexmark auction-site events (people register, open auctions, bid), shaped like the
// reference's model classes (nexmark-flink's Person/Auction/Bid). Times are epoch milliseconds.
//
// Each event is one flat object whose `kind` tells which it is, rather than a wrapper holding a
// person/auction/bid: the generator's hot path then allocates one object per event, and
// `event.kind === 'bid'` narrows straight to the Bid's fields.

export interface Person {
  readonly kind: 'person';
  /** Person ids start at 1000 (the reference's FIRST_PERSON_ID). */
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  /** Registration time, epoch ms. */
  readonly dateTime: number;
  /** Padding to the configured average event size; '' unless extra padding is enabled. */
  readonly extra: string;
}

export interface Auction {
  readonly kind: 'auction';
  /** Auction ids start at 1000 (the reference's FIRST_AUCTION_ID). */
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  /** Cents. */
  readonly initialBid: number;
  /** Cents; always above `initialBid`. */
  readonly reserve: number;
  /** Opening time, epoch ms. */
  readonly dateTime: number;
  /** Closing time, epoch ms. */
  readonly expires: number;
  /** Person id of the seller. */
  readonly seller: number;
  /** 10 ≤ category < 15. */
  readonly category: number;
  readonly extra: string;
}

export interface Bid {
  readonly kind: 'bid';
  /** Auction id bid on. */
  readonly auction: number;
  /** Person id of the bidder. */
  readonly bidder: number;
  /** Cents. */
  readonly price: number;
  /** Where the bid came from: one of four hot channels or `channel-<n>`. */
  readonly channel: string;
  readonly url: string;
  /** Bid time, epoch ms. */
  readonly dateTime: number;
  readonly extra: string;
}

export type NexmarkEvent = Person | Auction | Bid;

export type NexmarkEventKind = NexmarkEvent['kind'];
