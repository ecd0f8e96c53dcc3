package dev.sluice.nexmark;

/**
 * One Nexmark event: exactly one of person, auction, bid is set (nexmark-flink's Event wrapper;
 * Sluice's model.ts uses a flat union with a `kind` field instead, which Java has no cheap
 * equivalent of). A Flink POJO: nested POJOs, null fields allowed.
 */
public class Event {
  public static final int PERSON = 0;
  public static final int AUCTION = 1;
  public static final int BID = 2;

  /** PERSON, AUCTION or BID. */
  public int kind;
  public Person person;
  public Auction auction;
  public Bid bid;

  public Event() {}

  public static Event of(Person p) {
    Event e = new Event();
    e.kind = PERSON;
    e.person = p;
    return e;
  }

  public static Event of(Auction a) {
    Event e = new Event();
    e.kind = AUCTION;
    e.auction = a;
    return e;
  }

  public static Event of(Bid b) {
    Event e = new Event();
    e.kind = BID;
    e.bid = b;
    return e;
  }

  /** The event time: the person's, auction's or bid's dateTime. */
  public long dateTime() {
    switch (kind) {
      case PERSON: return person.dateTime;
      case AUCTION: return auction.dateTime;
      default: return bid.dateTime;
    }
  }
}
