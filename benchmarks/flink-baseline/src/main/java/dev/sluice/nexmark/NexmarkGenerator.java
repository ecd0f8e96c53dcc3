package dev.sluice.nexmark;

import java.io.Serializable;

/**
 * The Nexmark generator, exactly as Sluice's worker/connectors/nexmark/generator.ts (itself
 * Beam's generator with nexmark-flink's proportions, event delay and bid channels). Started from
 * reference/Gen.java, the Java port that produced the same 2 M events (MD5) as the TypeScript.
 *
 * Event number n (event id firstEventId + n) is a pure function of the config: its fields are
 * drawn from java.util.Random seeded with (eventId ^ seed) in the reference's order, its time is
 * baseTime + (long) (n * interEventDelayUs) / 1000. So a split (event numbers i, i+n, …) is
 * generated on its own, and the union of the splits is the single generator's stream.
 *
 * The TypeScript generator's documented deviations from the reference are the same here:
 * - `extra` is "" unless padExtraToAverageSize (then the reference's nextExtra, drawn last);
 * - channel c's URL is built from new Random(c), hot channel i's from new Random(10000 + i)
 *   (nexmark-flink uses an unseeded Random); FIRST_PERSON_ID is added to a bidder once;
 * - the base time is Beam's fixed 2015-07-15T00:00:00Z, the inter-event delay a double
 *   (1e6 / rate) as in nexmark-flink, a constant rate only, no out-of-order groups;
 * - prices: Math.round(pow(10, 6u) * 100) with StrictMath.pow (fdlibm, as V8's Math.pow) when
 *   the value lies within 1e-12 relative of a half cent, HotSpot's Math.pow otherwise (the two
 *   differ by at most an ulp, which can only matter there).
 * Events are not reused: each call returns new objects (Flink's default, object reuse off).
 */
public final class NexmarkGenerator implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final long FIRST_PERSON_ID = 1000;
  public static final long FIRST_AUCTION_ID = 1000;
  public static final long FIRST_CATEGORY_ID = 10;
  public static final long REFERENCE_BASE_TIME_MS = 1_436_918_400_000L;
  private static final int NUM_CATEGORIES = 5;
  private static final int PERSON_ID_LEAD = 10;
  private static final int AUCTION_ID_LEAD = 10;
  private static final int HOT_BATCH_SIZE = 100;
  private static final int CHANNELS_NUMBER = 10_000;
  private static final String[] HOT_CHANNELS = {"Google", "Facebook", "Baidu", "Apple"};
  private static final String[] US_STATES = {"AZ", "CA", "ID", "OR", "WA", "WY"};
  private static final String[] US_CITIES = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"
  };
  private static final String[] FIRST_NAMES = {"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
  private static final String[] LAST_NAMES = {"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
  private static final int BID_FIXED_FIELDS_BYTES = 8 + 8 + 8 + 8;
  private static final int AUCTION_FIXED_FIELDS_BYTES = 8 + 8 + 8 + 8 + 8 + 8;
  private static final int PERSON_FIXED_FIELDS_BYTES = 8;

  // The configuration; the defaults are generator.ts's (the reference NexmarkConfiguration's).
  public long seed = 0;
  public long baseTimeMs = REFERENCE_BASE_TIME_MS;
  public double firstEventRatePerSecond = 10_000;
  public long firstEventId = 0;
  public int personProportion = 1;
  public int auctionProportion = 3;
  public int bidProportion = 46;
  public int hotAuctionRatio = 2;
  public int hotBiddersRatio = 4;
  public int hotSellersRatio = 4;
  public int numActivePeople = 1000;
  public int numInFlightAuctions = 100;
  public int avgPersonByteSize = 200;
  public int avgAuctionByteSize = 500;
  public int avgBidByteSize = 100;
  public boolean padExtraToAverageSize = false;

  private transient JavaRandom random;
  private transient StringBuilder chars;

  private JavaRandom random() {
    if (random == null) {
      random = new JavaRandom();
      chars = new StringBuilder(128);
    }
    return random;
  }

  private int totalProportion() {
    return personProportion + auctionProportion + bidProportion;
  }

  private double interEventDelayUs() {
    return 1_000_000.0 / firstEventRatePerSecond;
  }

  /** Event time of event number n (nexmark-flink GeneratorConfig.timestampForEvent). */
  public long timestampForEvent(long n) {
    return baseTimeMs + (long) (n * interEventDelayUs()) / 1000L;
  }

  private long lastBase0PersonId(long eventId) {
    long epoch = eventId / totalProportion();
    long offset = eventId % totalProportion();
    if (offset >= personProportion) offset = personProportion - 1;
    return epoch * personProportion + offset;
  }

  private long lastBase0AuctionId(long eventId) {
    long epoch = eventId / totalProportion();
    long offset = eventId % totalProportion();
    if (offset < personProportion) {
      epoch--;
      offset = auctionProportion - 1;
    } else if (offset >= personProportion + auctionProportion) {
      offset = auctionProportion - 1;
    } else {
      offset -= personProportion;
    }
    return epoch * auctionProportion + offset;
  }

  /** LongGenerator.nextLong. */
  private static long nextLong(JavaRandom r, long n) {
    if (n < Integer.MAX_VALUE) return r.nextInt((int) n);
    return Math.abs(r.nextLong() % n);
  }

  private long nextBase0PersonId(long eventId, JavaRandom r) {
    long numPeople = lastBase0PersonId(eventId) + 1;
    long activePeople = Math.min(numPeople, numActivePeople);
    long n = nextLong(r, activePeople + PERSON_ID_LEAD);
    return numPeople - activePeople + n;
  }

  private long nextBase0AuctionId(long eventId, JavaRandom r) {
    long maxAuction = lastBase0AuctionId(eventId);
    long minAuction = Math.max(maxAuction - numInFlightAuctions, 0);
    return minAuction + nextLong(r, maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
  }

  /** PriceGenerator.nextPrice, cents. */
  private static long nextPrice(JavaRandom r) {
    double exponent = r.nextDouble() * 6.0;
    double cents = Math.pow(10.0, exponent) * 100.0;
    double plusHalf = cents + 0.5;
    double fraction = plusHalf - Math.floor(plusHalf);
    double margin = plusHalf * 1e-12;
    if (fraction < margin || fraction > 1 - margin) return Math.round(StrictMath.pow(10.0, exponent) * 100.0);
    return Math.round(cents);
  }

  /** StringsGenerator.nextString: 3 ≤ length < maxLength, letters and `special`, trimmed. */
  private String nextString(JavaRandom r, int maxLength, char special) {
    int length = 3 + r.nextInt(maxLength - 3);
    StringBuilder sb = chars;
    sb.setLength(0);
    for (int i = 0; i < length; i++) {
      if (r.nextInt(13) == 0) sb.append(special);
      else sb.append((char) ('a' + r.nextInt(26)));
    }
    int start = 0;
    int end = length;
    while (start < end && sb.charAt(start) <= ' ') start++;
    while (end > start && sb.charAt(end - 1) <= ' ') end--;
    return sb.substring(start, end);
  }

  /** StringsGenerator.nextExactString (a negative nextInt gives chars below 'a', as the reference). */
  private static String nextExactString(JavaRandom r, int length) {
    StringBuilder sb = new StringBuilder(length);
    int rnd = 0;
    int n = 0;
    while (length-- > 0) {
      if (n == 0) {
        rnd = r.nextInt();
        n = 6;
      }
      sb.append((char) ('a' + rnd % 26));
      rnd /= 26;
      n--;
    }
    return sb.toString();
  }

  /** StringsGenerator.nextExtra. */
  private static String nextExtra(JavaRandom r, int currentSize, int desiredAverageSize) {
    if (currentSize > desiredAverageSize) return "";
    int remaining = desiredAverageSize - currentSize;
    int delta = (int) Math.round(remaining * 0.2);
    int minSize = remaining - delta;
    int size = minSize + (delta == 0 ? 0 : r.nextInt(2 * delta));
    return nextExactString(r, size);
  }

  private static String fourDigits(int value) {
    if (value >= 1000) return Integer.toString(value);
    if (value >= 100) return "0" + value;
    if (value >= 10) return "00" + value;
    return "000" + value;
  }

  /** The event with event number `n`. */
  public Event eventAt(long n) {
    JavaRandom r = random();
    long eventId = firstEventId + n;
    r.setSeed(eventId ^ seed);
    long timestamp = timestampForEvent(n);
    long offset = eventId % totalProportion();
    if (offset < personProportion) return Event.of(nextPerson(eventId, r, timestamp));
    if (offset < personProportion + auctionProportion) return Event.of(nextAuction(n, eventId, r, timestamp));
    return Event.of(nextBid(eventId, r, timestamp));
  }

  private Person nextPerson(long eventId, JavaRandom r, long timestamp) {
    long id = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
    String name = FIRST_NAMES[r.nextInt(FIRST_NAMES.length)] + " " + LAST_NAMES[r.nextInt(LAST_NAMES.length)];
    String email = nextString(r, 7, ' ') + "@" + nextString(r, 5, ' ') + ".com";
    String creditCard = fourDigits(r.nextInt(10_000)) + " " + fourDigits(r.nextInt(10_000)) + " "
        + fourDigits(r.nextInt(10_000)) + " " + fourDigits(r.nextInt(10_000));
    String city = US_CITIES[r.nextInt(US_CITIES.length)];
    String state = US_STATES[r.nextInt(US_STATES.length)];
    String extra = padExtraToAverageSize
        ? nextExtra(r, PERSON_FIXED_FIELDS_BYTES + name.length() + email.length() + creditCard.length() + city.length() + state.length(), avgPersonByteSize)
        : "";
    return new Person(id, name, email, creditCard, city, state, timestamp, extra);
  }

  private Auction nextAuction(long eventNumber, long eventId, JavaRandom r, long timestamp) {
    long id = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
    long seller;
    if (r.nextInt(hotSellersRatio) > 0) seller = (lastBase0PersonId(eventId) / HOT_BATCH_SIZE) * HOT_BATCH_SIZE;
    else seller = nextBase0PersonId(eventId, r);
    seller += FIRST_PERSON_ID;
    long category = FIRST_CATEGORY_ID + r.nextInt(NUM_CATEGORIES);
    long initialBid = nextPrice(r);
    // nextAuctionLengthMs: uniform in [1, 2 * horizon].
    long eventsForInFlightAuctions = ((long) numInFlightAuctions * totalProportion()) / auctionProportion;
    long horizon = timestampForEvent(eventNumber + eventsForInFlightAuctions) - timestamp;
    long expires = timestamp + 1L + nextLong(r, Math.max(horizon * 2, 1L));
    String itemName = nextString(r, 20, ' ');
    String description = nextString(r, 100, ' ');
    long reserve = initialBid + nextPrice(r);
    String extra = padExtraToAverageSize
        ? nextExtra(r, AUCTION_FIXED_FIELDS_BYTES + itemName.length() + description.length(), avgAuctionByteSize)
        : "";
    return new Auction(id, itemName, description, initialBid, reserve, timestamp, expires, seller, category, extra);
  }

  private Bid nextBid(long eventId, JavaRandom r, long timestamp) {
    long auction;
    if (r.nextInt(hotAuctionRatio) > 0) auction = (lastBase0AuctionId(eventId) / HOT_BATCH_SIZE) * HOT_BATCH_SIZE;
    else auction = nextBase0AuctionId(eventId, r);
    auction += FIRST_AUCTION_ID;
    long bidder;
    if (r.nextInt(hotBiddersRatio) > 0) bidder = (lastBase0PersonId(eventId) / HOT_BATCH_SIZE) * HOT_BATCH_SIZE + 1;
    else bidder = nextBase0PersonId(eventId, r);
    bidder += FIRST_PERSON_ID;
    long price = nextPrice(r);
    String channel;
    String url;
    if (r.nextInt(2) > 0) {
      int hot = r.nextInt(HOT_CHANNELS.length);
      channel = HOT_CHANNELS[hot];
      url = Channels.HOT_URLS[hot];
    } else {
      int c = r.nextInt(CHANNELS_NUMBER);
      channel = Channels.NAMES[c];
      url = Channels.URLS[c];
    }
    String extra = padExtraToAverageSize ? nextExtra(r, BID_FIXED_FIELDS_BYTES, avgBidByteSize) : "";
    return new Bid(auction, bidder, price, channel, url, timestamp, extra);
  }

  /** Every channel's name and URL, built once (nexmark-flink's getBaseUrl, seeded). */
  private static final class Channels {
    static final String[] NAMES = new String[CHANNELS_NUMBER];
    static final String[] URLS = new String[CHANNELS_NUMBER];
    static final String[] HOT_URLS = new String[HOT_CHANNELS.length];

    static {
      NexmarkGenerator strings = new NexmarkGenerator();
      for (int c = 0; c < CHANNELS_NUMBER; c++) {
        JavaRandom r = new JavaRandom(c);
        String url = strings.baseUrl(r);
        if (r.nextInt(10) > 0) url = url + "&channel_id=" + Math.abs(Integer.reverse(c));
        NAMES[c] = "channel-" + c;
        URLS[c] = url;
      }
      for (int i = 0; i < HOT_CHANNELS.length; i++) HOT_URLS[i] = strings.baseUrl(new JavaRandom(CHANNELS_NUMBER + i));
    }
  }

  private String baseUrl(JavaRandom r) {
    random();
    return "https://www.nexmark.com/" + nextString(r, 5, '_') + '/' + nextString(r, 5, '_') + '/' + nextString(r, 5, '_') + '/' + "item.htm?query=1";
  }
}
