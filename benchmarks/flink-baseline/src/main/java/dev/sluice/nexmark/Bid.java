package dev.sluice.nexmark;

/** A bid (model.ts Bid). A Flink POJO. */
public class Bid {
  /** Auction id bid on. */
  public long auction;
  /** Person id of the bidder. */
  public long bidder;
  /** Cents. */
  public long price;
  /** One of four hot channels or "channel-<n>". */
  public String channel;
  public String url;
  /** Bid time, epoch ms. */
  public long dateTime;
  public String extra;

  public Bid() {}

  public Bid(long auction, long bidder, long price, String channel, String url, long dateTime, String extra) {
    this.auction = auction;
    this.bidder = bidder;
    this.price = price;
    this.channel = channel;
    this.url = url;
    this.dateTime = dateTime;
    this.extra = extra;
  }
}
