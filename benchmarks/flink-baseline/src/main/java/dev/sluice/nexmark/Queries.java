package dev.sluice.nexmark;

import dev.sluice.nexmark.Results.AuctionCount;
import dev.sluice.nexmark.Results.AuctionPrice;
import dev.sluice.nexmark.Results.BidderSession;
import dev.sluice.nexmark.Results.CategoryAverage;
import dev.sluice.nexmark.Results.EuroBid;
import dev.sluice.nexmark.Results.HighestBid;
import dev.sluice.nexmark.Results.HotItem;
import dev.sluice.nexmark.Results.LocalItem;
import dev.sluice.nexmark.Results.MaxBids;
import dev.sluice.nexmark.Results.NewUser;
import dev.sluice.nexmark.Results.OpenAuction;
import dev.sluice.nexmark.Results.PriceSum;
import dev.sluice.nexmark.Results.Seller;
import dev.sluice.nexmark.Results.WaitingBid;
import dev.sluice.nexmark.Results.WinningBid;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.JoinFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * The Nexmark queries of benchmarks/nexmark/queries.ts on Flink's DataStream API, operator for
 * operator: the same filters, maps, keys, windows, keyed state and timers, so that they compute
 * exactly the same results (see queries.ts for each query's semantics and its choices against
 * the references; the comments here only say where the Flink program differs in form).
 */
public final class Queries {
  private Queries() {}

  public static final List<String> NAMES = List.of("q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q11");

  /** Nexmark's window for q7, q8 and q11. */
  static final Duration WINDOW = Duration.ofMillis(10_000);

  /** Builds query `name` on `events`; the caller adds the sink. */
  public static DataStream<?> build(String name, DataStream<Event> events) {
    switch (name) {
      case "q0": // pass-through
        return bids(events);
      case "q1": // currency conversion: dollars to euros
        return bids(events).map(new ToEuros()).name("q1: to euros");
      case "q2": // selection
        return bids(events).filter(new AuctionMod123()).name("q2: select").map(new AuctionAndPrice()).name("q2: project");
      case "q3":
        return localItemSuggestion(events);
      case "q4":
        return averagePriceForCategory(events);
      case "q5":
        return hotItems(events);
      case "q7":
        return bids(events)
            .windowAll(TumblingEventTimeWindows.of(WINDOW))
            .aggregate(new MaxBidsAggregate(), new EmitHighestBids())
            .name("q7: highest bids per window");
      case "q8":
        return monitorNewUsers(events);
      case "q11":
        return bids(events)
            .keyBy(new ByBidder())
            .window(EventTimeSessionWindows.withGap(WINDOW))
            .aggregate(new CountBids(), new EmitSession())
            .name("q11: bids per session");
      default:
        throw new IllegalArgumentException("--query must be one of " + NAMES + ", got " + name);
    }
  }

  // ---- the three event streams -------------------------------------------------------------
  // Sluice filters its flat union (`events.filter(isBid)`); Flink's events are a wrapper, so the
  // filter also unwraps: one flatMap per stream.

  static DataStream<Bid> bids(DataStream<Event> events) {
    return events.flatMap(new BidsOf()).name("bids");
  }

  static final class BidsOf implements FlatMapFunction<Event, Bid> {
    @Override
    public void flatMap(Event e, Collector<Bid> out) {
      if (e.kind == Event.BID) out.collect(e.bid);
    }
  }

  static final class PersonsOf implements FlatMapFunction<Event, Person> {
    @Override
    public void flatMap(Event e, Collector<Person> out) {
      if (e.kind == Event.PERSON) out.collect(e.person);
    }
  }

  static final class AuctionsOf implements FlatMapFunction<Event, Auction> {
    @Override
    public void flatMap(Event e, Collector<Auction> out) {
      if (e.kind == Event.AUCTION) out.collect(e.auction);
    }
  }

  /** q3's auctions: category 10 only. */
  static final class AuctionsInCategory10 implements FlatMapFunction<Event, Auction> {
    @Override
    public void flatMap(Event e, Collector<Auction> out) {
      if (e.kind == Event.AUCTION && e.auction.category == Q3_CATEGORY) out.collect(e.auction);
    }
  }

  // ---- q1, q2 --------------------------------------------------------------------------------

  static final class ToEuros implements MapFunction<Bid, EuroBid> {
    @Override
    public EuroBid map(Bid b) {
      // JavaScript's (b.price * 908) / 1000 in doubles: price * 908 is exact (< 2^53).
      return new EuroBid(b.auction, b.bidder, (double) (b.price * 908) / 1000.0, b.dateTime);
    }
  }

  static final class AuctionMod123 implements FilterFunction<Bid> {
    @Override
    public boolean filter(Bid b) {
      return b.auction % 123 == 0;
    }
  }

  static final class AuctionAndPrice implements MapFunction<Bid, AuctionPrice> {
    @Override
    public AuctionPrice map(Bid b) {
      return new AuctionPrice(b.auction, b.price);
    }
  }

  // ---- q3: local item suggestion -------------------------------------------------------------

  static final long Q3_CATEGORY = 10;

  static DataStream<LocalItem> localItemSuggestion(DataStream<Event> events) {
    DataStream<Person> persons = events.flatMap(new PersonsOf()).name("q3: persons");
    DataStream<Auction> auctions = events.flatMap(new AuctionsInCategory10()).name("q3: auctions in category 10");
    return persons
        .connect(auctions)
        .keyBy(new PersonId(), new AuctionSeller())
        .process(new LocalItemJoin())
        .name("q3: join sellers and auctions");
  }

  static boolean inQ3States(String state) {
    return state.equals("OR") || state.equals("ID") || state.equals("CA");
  }

  /** queries.ts LocalItemJoin. */
  static final class LocalItemJoin extends KeyedCoProcessFunction<Long, Person, Auction, LocalItem> {
    private transient ValueState<Seller> seller;
    private transient ListState<Long> waiting;

    @Override
    public void open(OpenContext openContext) {
      seller = getRuntimeContext().getState(new ValueStateDescriptor<>("seller", Seller.class));
      waiting = getRuntimeContext().getListState(new ListStateDescriptor<>("waiting-auctions", Types.LONG));
    }

    @Override
    public void processElement1(Person person, Context ctx, Collector<LocalItem> out) throws Exception {
      if (seller.value() != null) return; // a duplicate person id: ignored, as Beam does
      Seller s = new Seller();
      if (!inQ3States(person.state)) {
        s.local = false; // the ELSEWHERE marker
        seller.update(s);
        waiting.clear();
        return;
      }
      s.local = true;
      s.name = person.name;
      s.city = person.city;
      s.state = person.state;
      seller.update(s);
      Iterable<Long> w = waiting.get();
      if (w == null) return;
      boolean any = false;
      for (Long auction : w) {
        out.collect(new LocalItem(s.name, s.city, s.state, auction));
        any = true;
      }
      if (any) waiting.clear();
    }

    @Override
    public void processElement2(Auction auction, Context ctx, Collector<LocalItem> out) throws Exception {
      Seller s = seller.value();
      if (s == null) waiting.add(auction.id);
      else if (s.local) out.collect(new LocalItem(s.name, s.city, s.state, auction.id));
    }
  }

  // ---- q4: average price for a category ------------------------------------------------------

  static DataStream<CategoryAverage> averagePriceForCategory(DataStream<Event> events) {
    DataStream<Auction> auctions = events.flatMap(new AuctionsOf()).name("q4: auctions");
    DataStream<Bid> bids = events.flatMap(new BidsOf()).name("q4: bids");
    return auctions
        .connect(bids)
        .keyBy(new AuctionId(), new BidAuction())
        .process(new WinningBids())
        .name("q4: winning bids")
        .keyBy(new WinnerCategory())
        .process(new AverageWinningPrice())
        .name("q4: average per category");
  }

  /** queries.ts WinningBids. */
  static final class WinningBids extends KeyedCoProcessFunction<Long, Auction, Bid, WinningBid> {
    private transient ValueState<OpenAuction> openAuction;
    private transient ListState<WaitingBid> early;

    @Override
    public void open(OpenContext openContext) {
      openAuction = getRuntimeContext().getState(new ValueStateDescriptor<>("open-auction", OpenAuction.class));
      early = getRuntimeContext().getListState(new ListStateDescriptor<>("bids-before-auction", WaitingBid.class));
    }

    @Override
    public void processElement1(Auction auction, Context ctx, Collector<WinningBid> out) throws Exception {
      if (openAuction.value() != null) return; // a duplicate auction id: ignored
      OpenAuction state = new OpenAuction();
      state.id = auction.id;
      state.category = auction.category;
      state.dateTime = auction.dateTime;
      state.expires = auction.expires;
      state.reserve = auction.reserve;
      state.bestPrice = -1;
      state.bestDateTime = 0;
      state.bestBidder = 0;
      Iterable<WaitingBid> waiting = early.get();
      if (waiting != null) {
        boolean any = false;
        for (WaitingBid b : waiting) {
          offer(state, b.price, b.dateTime, b.bidder);
          any = true;
        }
        if (any) early.clear();
      }
      openAuction.update(state);
      ctx.timerService().registerEventTimeTimer(auction.expires);
    }

    @Override
    public void processElement2(Bid bid, Context ctx, Collector<WinningBid> out) throws Exception {
      OpenAuction state = openAuction.value();
      if (state != null) {
        if (offer(state, bid.price, bid.dateTime, bid.bidder)) openAuction.update(state);
        return;
      }
      early.add(new WaitingBid(bid.price, bid.dateTime, bid.bidder));
      ctx.timerService().registerEventTimeTimer(bid.dateTime);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WinningBid> out) throws Exception {
      OpenAuction state = openAuction.value();
      if (state != null) {
        if (timestamp != state.expires) return; // a timer of a bid that waited for this auction
        if (state.bestPrice >= 0) {
          WinningBid w = new WinningBid();
          w.auction = state.id;
          w.category = state.category;
          w.expires = state.expires;
          w.bidder = state.bestBidder;
          w.price = state.bestPrice;
          w.dateTime = state.bestDateTime;
          out.collect(w);
        }
        openAuction.clear();
        return;
      }
      // No auction yet: the waiting bids the watermark has passed can no longer count.
      Iterable<WaitingBid> waiting = early.get();
      if (waiting == null) return;
      List<WaitingBid> all = new ArrayList<>();
      List<WaitingBid> kept = new ArrayList<>();
      for (WaitingBid b : waiting) {
        all.add(b);
        if (b.dateTime > timestamp) kept.add(b);
      }
      if (all.isEmpty() || kept.size() == all.size()) return;
      early.update(kept);
    }
  }

  /** queries.ts offer: offers a bid to an open auction; true if it is the new best. */
  static boolean offer(OpenAuction state, long price, long dateTime, long bidder) {
    if (dateTime < state.dateTime || dateTime > state.expires || price < state.reserve) return false;
    if (price < state.bestPrice) return false;
    if (price == state.bestPrice && (dateTime > state.bestDateTime || (dateTime == state.bestDateTime && bidder >= state.bestBidder))) return false;
    state.bestPrice = price;
    state.bestDateTime = dateTime;
    state.bestBidder = bidder;
    return true;
  }

  /** queries.ts AverageWinningPrice. */
  static final class AverageWinningPrice extends KeyedProcessFunction<Long, WinningBid, CategoryAverage> {
    private transient ValueState<PriceSum> total;
    private transient ListState<WinningBid> pending;

    @Override
    public void open(OpenContext openContext) {
      total = getRuntimeContext().getState(new ValueStateDescriptor<>("winning-price-sum", PriceSum.class));
      pending = getRuntimeContext().getListState(new ListStateDescriptor<>("winners-to-apply", WinningBid.class));
    }

    @Override
    public void processElement(WinningBid winner, Context ctx, Collector<CategoryAverage> out) throws Exception {
      pending.add(winner);
      ctx.timerService().registerEventTimeTimer(winner.expires);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<CategoryAverage> out) throws Exception {
      Iterable<WinningBid> all = pending.get();
      if (all == null) return;
      List<WinningBid> due = new ArrayList<>();
      List<WinningBid> later = new ArrayList<>();
      for (WinningBid w : all) (w.expires <= timestamp ? due : later).add(w);
      if (due.isEmpty()) return;
      due.sort(Comparator.<WinningBid>comparingLong(w -> w.expires).thenComparingLong(w -> w.auction));
      PriceSum t = total.value();
      if (t == null) t = new PriceSum();
      for (WinningBid w : due) {
        t.sum += w.price;
        t.count++;
        // JavaScript's sum / count in doubles: both exact below 2^53.
        out.collect(new CategoryAverage(w.category, (double) t.sum / (double) t.count, t.count));
      }
      total.update(t);
      if (later.isEmpty()) pending.clear();
      else pending.update(later);
    }
  }

  // ---- q5: hot items -------------------------------------------------------------------------

  static DataStream<HotItem> hotItems(DataStream<Event> events) {
    return bids(events)
        .keyBy(new BidAuction())
        .window(SlidingEventTimeWindows.of(Duration.ofMillis(10_000), Duration.ofMillis(2_000)))
        .aggregate(new CountBids(), new CountInWindow())
        .name("q5: bids per auction")
        .map(new ToHot())
        .keyBy(new HotWindowEnd())
        .window(TumblingEventTimeWindows.of(Duration.ofMillis(2_000)))
        .reduce(new Hottest())
        .name("q5: hottest per window");
  }

  static final class CountBids implements AggregateFunction<Bid, Long, Long> {
    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(Bid bid, Long n) {
      return n + 1;
    }

    @Override
    public Long getResult(Long n) {
      return n;
    }

    @Override
    public Long merge(Long a, Long b) {
      return a + b;
    }
  }

  static final class CountInWindow extends ProcessWindowFunction<Long, AuctionCount, Long, TimeWindow> {
    @Override
    public void process(Long auction, Context context, Iterable<Long> counts, Collector<AuctionCount> out) {
      out.collect(new AuctionCount(auction, counts.iterator().next(), context.window().getEnd()));
    }
  }

  static final class ToHot implements MapFunction<AuctionCount, HotItem> {
    @Override
    public HotItem map(AuctionCount r) {
      return new HotItem(r.windowEnd, new long[] {r.auction}, r.bids);
    }
  }

  /** The more bids; on a tie, both auction lists merged in ascending order. */
  static final class Hottest implements ReduceFunction<HotItem> {
    @Override
    public HotItem reduce(HotItem a, HotItem b) {
      if (a.bids != b.bids) return a.bids > b.bids ? a : b;
      long[] merged = new long[a.auctions.length + b.auctions.length];
      int i = 0;
      int j = 0;
      int k = 0;
      while (i < a.auctions.length && j < b.auctions.length) merged[k++] = a.auctions[i] <= b.auctions[j] ? a.auctions[i++] : b.auctions[j++];
      while (i < a.auctions.length) merged[k++] = a.auctions[i++];
      while (j < b.auctions.length) merged[k++] = b.auctions[j++];
      return new HotItem(a.windowEnd, merged, a.bids);
    }
  }

  // ---- q7: highest bid -----------------------------------------------------------------------

  /** queries.ts maxBids. */
  static final class MaxBidsAggregate implements AggregateFunction<Bid, MaxBids, MaxBids> {
    @Override
    public MaxBids createAccumulator() {
      return new MaxBids();
    }

    @Override
    public MaxBids add(Bid bid, MaxBids acc) {
      if (bid.price > acc.price || acc.bids.isEmpty()) {
        MaxBids next = new MaxBids();
        next.price = bid.price;
        next.bids.add(bid);
        return next;
      }
      if (bid.price == acc.price) acc.bids.add(bid);
      return acc;
    }

    @Override
    public MaxBids getResult(MaxBids acc) {
      return acc;
    }

    @Override
    public MaxBids merge(MaxBids a, MaxBids b) {
      if (a.price != b.price) return a.price > b.price ? a : b;
      MaxBids m = new MaxBids();
      m.price = a.price;
      m.bids.addAll(a.bids);
      m.bids.addAll(b.bids);
      return m;
    }
  }

  static final class EmitHighestBids extends ProcessAllWindowFunction<MaxBids, HighestBid, TimeWindow> {
    @Override
    public void process(Context context, Iterable<MaxBids> results, Collector<HighestBid> out) {
      long windowEnd = context.window().getEnd();
      for (Bid b : results.iterator().next().bids) out.collect(new HighestBid(b.auction, b.bidder, b.price, b.dateTime, windowEnd));
    }
  }

  // ---- q8: monitor new users -----------------------------------------------------------------

  static DataStream<NewUser> monitorNewUsers(DataStream<Event> events) {
    DataStream<Person> persons = events.flatMap(new PersonsOf()).name("q8: persons");
    DataStream<Auction> sellers = events.flatMap(new AuctionsOf()).name("q8: auctions")
        .keyBy(new AuctionSeller())
        .window(TumblingEventTimeWindows.of(WINDOW))
        .reduce(new First())
        .name("q8: one auction per seller and window");
    return persons
        .join(sellers)
        .where(new PersonId())
        .equalTo(new AuctionSeller())
        .window(TumblingEventTimeWindows.of(WINDOW))
        .apply(new ToNewUser(), Types.POJO(NewUser.class)); // JoinedStreams' result takes no name
  }

  static final class First implements ReduceFunction<Auction> {
    @Override
    public Auction reduce(Auction first, Auction second) {
      return first;
    }
  }

  static final class ToNewUser implements JoinFunction<Person, Auction, NewUser> {
    @Override
    public NewUser join(Person p, Auction a) {
      return new NewUser(p.id, p.name, TimeWindow.getWindowStartWithOffset(p.dateTime, 0, WINDOW.toMillis()));
    }
  }

  // ---- q11: user sessions --------------------------------------------------------------------

  static final class EmitSession extends ProcessWindowFunction<Long, BidderSession, Long, TimeWindow> {
    @Override
    public void process(Long bidder, Context context, Iterable<Long> counts, Collector<BidderSession> out) {
      TimeWindow w = context.window();
      out.collect(new BidderSession(bidder, counts.iterator().next(), w.getStart(), w.getEnd()));
    }
  }

  // ---- keys ----------------------------------------------------------------------------------

  static final class PersonId implements KeySelector<Person, Long> {
    @Override
    public Long getKey(Person p) {
      return p.id;
    }
  }

  static final class AuctionId implements KeySelector<Auction, Long> {
    @Override
    public Long getKey(Auction a) {
      return a.id;
    }
  }

  static final class AuctionSeller implements KeySelector<Auction, Long> {
    @Override
    public Long getKey(Auction a) {
      return a.seller;
    }
  }

  static final class BidAuction implements KeySelector<Bid, Long> {
    @Override
    public Long getKey(Bid b) {
      return b.auction;
    }
  }

  static final class ByBidder implements KeySelector<Bid, Long> {
    @Override
    public Long getKey(Bid b) {
      return b.bidder;
    }
  }

  static final class WinnerCategory implements KeySelector<WinningBid, Long> {
    @Override
    public Long getKey(WinningBid w) {
      return w.category;
    }
  }

  static final class HotWindowEnd implements KeySelector<HotItem, Long> {
    @Override
    public Long getKey(HotItem h) {
      return h.windowEnd;
    }
  }
}
