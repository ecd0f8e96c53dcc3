package dev.sluice.nexmark;

/** The queries' result and intermediate record types, as Flink POJOs (queries.ts's interfaces). */
public final class Results {
  private Results() {}

  /** q1: a bid's price in euros (price * 908 / 1000, a JavaScript number: a double). */
  public static class EuroBid {
    public long auction;
    public long bidder;
    public double price;
    public long dateTime;

    public EuroBid() {}

    public EuroBid(long auction, long bidder, double price, long dateTime) {
      this.auction = auction;
      this.bidder = bidder;
      this.price = price;
      this.dateTime = dateTime;
    }
  }

  /** q2. */
  public static class AuctionPrice {
    public long auction;
    public long price;

    public AuctionPrice() {}

    public AuctionPrice(long auction, long price) {
      this.auction = auction;
      this.price = price;
    }
  }

  /** q3: who sells, where, and which auction. */
  public static class LocalItem {
    public String name;
    public String city;
    public String state;
    public long auction;

    public LocalItem() {}

    public LocalItem(String name, String city, String state, long auction) {
      this.name = name;
      this.city = city;
      this.state = state;
      this.auction = auction;
    }
  }

  /** q3's state per person: a seller in OR/ID/CA, or the marker of one elsewhere (local false). */
  public static class Seller {
    public boolean local;
    public String name;
    public String city;
    public String state;

    public Seller() {}
  }

  /** q4: the winning bid of a closed auction. */
  public static class WinningBid {
    public long auction;
    public long category;
    /** The auction's close, also the record's timestamp. */
    public long expires;
    public long bidder;
    public long price;
    public long dateTime;

    public WinningBid() {}
  }

  /** q4: the average winning price of the category's auctions closed so far. */
  public static class CategoryAverage {
    public long category;
    public double average;
    public long auctions;

    public CategoryAverage() {}

    public CategoryAverage(long category, double average, long auctions) {
      this.category = category;
      this.average = average;
      this.auctions = auctions;
    }
  }

  /** q4's state: an open auction and its best bid so far. */
  public static class OpenAuction {
    public long id;
    public long category;
    public long dateTime;
    public long expires;
    public long reserve;
    public long bestPrice;
    public long bestDateTime;
    public long bestBidder;

    public OpenAuction() {}
  }

  /** q4's state: a bid waiting for its auction. */
  public static class WaitingBid {
    public long price;
    public long dateTime;
    public long bidder;

    public WaitingBid() {}

    public WaitingBid(long price, long dateTime, long bidder) {
      this.price = price;
      this.dateTime = dateTime;
      this.bidder = bidder;
    }
  }

  /** q4's state: sum and number of winning prices of a category. */
  public static class PriceSum {
    public long sum;
    public long count;

    public PriceSum() {}
  }

  /** q5's first stage: bids of one auction in one sliding window. */
  public static class AuctionCount {
    public long auction;
    public long bids;
    public long windowEnd;

    public AuctionCount() {}

    public AuctionCount(long auction, long bids, long windowEnd) {
      this.auction = auction;
      this.bids = bids;
      this.windowEnd = windowEnd;
    }
  }

  /** q5: the auctions with the most bids in a window (ascending ids when several tie). */
  public static class HotItem {
    public long windowEnd;
    public long[] auctions;
    public long bids;

    public HotItem() {}

    public HotItem(long windowEnd, long[] auctions, long bids) {
      this.windowEnd = windowEnd;
      this.auctions = auctions;
      this.bids = bids;
    }
  }

  /** q7: a bid with the highest price of its window. */
  public static class HighestBid {
    public long auction;
    public long bidder;
    public long price;
    public long dateTime;
    public long windowEnd;

    public HighestBid() {}

    public HighestBid(long auction, long bidder, long price, long dateTime, long windowEnd) {
      this.auction = auction;
      this.bidder = bidder;
      this.price = price;
      this.dateTime = dateTime;
      this.windowEnd = windowEnd;
    }
  }

  /** q7's accumulator: the highest price so far and the bids having it. */
  public static class MaxBids {
    /** Long.MIN_VALUE stands for -Infinity (no bid yet). */
    public long price = Long.MIN_VALUE;
    public java.util.ArrayList<Bid> bids = new java.util.ArrayList<>();

    public MaxBids() {}
  }

  /** q8: a person who opened an auction in the 10 s window they registered in. */
  public static class NewUser {
    public long id;
    public String name;
    public long windowStart;

    public NewUser() {}

    public NewUser(long id, String name, long windowStart) {
      this.id = id;
      this.name = name;
      this.windowStart = windowStart;
    }
  }

  /** q11: how many bids a bidder made in one session. */
  public static class BidderSession {
    public long bidder;
    public long bidCount;
    public long start;
    public long end;

    public BidderSession() {}

    public BidderSession(long bidder, long bidCount, long start, long end) {
      this.bidder = bidder;
      this.bidCount = bidCount;
      this.start = start;
      this.end = end;
    }
  }
}
