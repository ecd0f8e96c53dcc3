package dev.sluice.nexmark;

/** An auction opening (model.ts Auction). A Flink POJO. */
public class Auction {
  /** From 1000 (FIRST_AUCTION_ID). */
  public long id;
  public String itemName;
  public String description;
  /** Cents. */
  public long initialBid;
  /** Cents; above initialBid. */
  public long reserve;
  /** Opening time, epoch ms. */
  public long dateTime;
  /** Closing time, epoch ms. */
  public long expires;
  /** Person id of the seller. */
  public long seller;
  /** 10 ≤ category < 15. */
  public long category;
  public String extra;

  public Auction() {}

  public Auction(long id, String itemName, String description, long initialBid, long reserve, long dateTime, long expires, long seller, long category, String extra) {
    this.id = id;
    this.itemName = itemName;
    this.description = description;
    this.initialBid = initialBid;
    this.reserve = reserve;
    this.dateTime = dateTime;
    this.expires = expires;
    this.seller = seller;
    this.category = category;
    this.extra = extra;
  }
}
