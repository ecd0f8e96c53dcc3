package dev.sluice.nexmark;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * The canonical lines and checksums of benchmarks/nexmark/checksum.ts (the contract: change
 * both or neither). Fields in a fixed order joined by "|"; integral numbers as plain integers,
 * others with six decimals (JavaScript's toFixed(6): see number(double)); lists joined by ",".
 */
public final class Canonical {
  private Canonical() {}

  public static String number(long x) {
    return Long.toString(x);
  }

  /**
   * checksum.ts canonicalNumber for a JavaScript number that is a Java double: an integral value
   * as Long.toString((long) x), any other as JavaScript's x.toFixed(6).
   *
   * Not String.format(Locale.ROOT, "%.6f", x), although checksum.ts's comment says so: Java's
   * Formatter rounds the shortest decimal that identifies the double (Double.toString's digits),
   * half up, while toFixed rounds the double's exact binary value. They differ when those
   * shortest digits end in a 5 just past the sixth decimal, e.g. q4's average
   * 42376151.7689615 (shortest), exactly 42376151.76896149665117263793945...: toFixed(6) gives
   * …768961, "%.6f" gives …768962. BigDecimal(x) is the exact value; HALF_UP on its magnitude
   * is toFixed's "pick the larger n" on ties; the sign is written separately as toFixed does
   * (so -1e-7 is "-0.000000"). Only |x| < 1e21 is toFixed's plain notation; no value here is
   * near it.
   */
  public static String number(double x) {
    if (x == Math.rint(x) && !Double.isInfinite(x)) return Long.toString((long) x);
    if (Double.isNaN(x)) return "NaN";
    if (Double.isInfinite(x)) return x > 0 ? "Infinity" : "-Infinity";
    String magnitude = new BigDecimal(Math.abs(x)).setScale(6, RoundingMode.HALF_UP).toPlainString();
    return x < 0 ? "-" + magnitude : magnitude;
  }

  public static String event(Event e) {
    switch (e.kind) {
      case Event.PERSON: {
        Person p = e.person;
        return "P|" + p.id + '|' + p.name + '|' + p.emailAddress + '|' + p.creditCard + '|' + p.city + '|' + p.state + '|' + p.dateTime + '|' + p.extra;
      }
      case Event.AUCTION: {
        Auction a = e.auction;
        return "A|" + a.id + '|' + a.itemName + '|' + a.description + '|' + a.initialBid + '|' + a.reserve + '|' + a.dateTime + '|' + a.expires + '|' + a.seller + '|' + a.category + '|' + a.extra;
      }
      default: {
        Bid b = e.bid;
        return "B|" + b.auction + '|' + b.bidder + '|' + b.price + '|' + b.channel + '|' + b.url + '|' + b.dateTime + '|' + b.extra;
      }
    }
  }

  /** checksum.ts OUTPUT_FIELDS / canonicalOutput: a query result as its canonical line. */
  public static String output(String query, Object result) {
    switch (query) {
      case "q0": {
        Bid b = (Bid) result;
        return b.auction + "|" + b.bidder + '|' + b.price + '|' + b.channel + '|' + b.url + '|' + b.dateTime + '|' + b.extra;
      }
      case "q1": {
        Results.EuroBid b = (Results.EuroBid) result;
        return b.auction + "|" + b.bidder + '|' + number(b.price) + '|' + b.dateTime;
      }
      case "q2": {
        Results.AuctionPrice r = (Results.AuctionPrice) result;
        return r.auction + "|" + r.price;
      }
      case "q3": {
        Results.LocalItem r = (Results.LocalItem) result;
        return r.name + '|' + r.city + '|' + r.state + '|' + r.auction;
      }
      case "q4": {
        Results.CategoryAverage r = (Results.CategoryAverage) result;
        return r.category + "|" + number(r.average) + '|' + r.auctions;
      }
      case "q5": {
        Results.HotItem r = (Results.HotItem) result;
        StringBuilder sb = new StringBuilder().append(r.windowEnd).append('|');
        for (int i = 0; i < r.auctions.length; i++) {
          if (i > 0) sb.append(',');
          sb.append(r.auctions[i]);
        }
        return sb.append('|').append(r.bids).toString();
      }
      case "q7": {
        Results.HighestBid r = (Results.HighestBid) result;
        return r.auction + "|" + r.bidder + '|' + r.price + '|' + r.dateTime + '|' + r.windowEnd;
      }
      case "q8": {
        Results.NewUser r = (Results.NewUser) result;
        return r.id + "|" + r.name + '|' + r.windowStart;
      }
      case "q11": {
        Results.BidderSession r = (Results.BidderSession) result;
        return r.bidder + "|" + r.bidCount + '|' + r.start + '|' + r.end;
      }
      default:
        throw new IllegalArgumentException("unknown query " + query);
    }
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The first 8 bytes of the line's SHA-256, big-endian: what the output checksum adds up. */
  public static long lineHash(MessageDigest sha256, String line) {
    byte[] d = sha256.digest(line.getBytes(StandardCharsets.UTF_8));
    long v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (d[i] & 0xff);
    return v;
  }

  public static String hex64(long sum) {
    String s = Long.toHexString(sum);
    return "0".repeat(16 - s.length()) + s;
  }

  /** SHA-256 over the canonical lines of events 0 … count-1, each followed by "\n"; hex. */
  public static String eventsChecksum(NexmarkGenerator generator, long count) {
    MessageDigest sha = sha256();
    for (long n = 0; n < count; n++) sha.update((event(generator.eventAt(n)) + "\n").getBytes(StandardCharsets.UTF_8));
    StringBuilder sb = new StringBuilder();
    for (byte b : sha.digest()) sb.append(String.format("%02x", b & 0xff));
    return sb.toString();
  }
}
