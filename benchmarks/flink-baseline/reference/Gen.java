import java.util.Random;
public class Gen {
  static final long FIRST_PERSON_ID=1000, FIRST_AUCTION_ID=1000, FIRST_CATEGORY_ID=10;
  static int personP=1, auctionP=3, bidP=46, totalP=50;
  static int hotAuctionRatio=2, hotBiddersRatio=4, hotSellersRatio=4, numActivePeople=1000, numInFlightAuctions=100;
  static int avgPerson=200, avgAuction=500, avgBid=100;
  static boolean pad; static long seed; static long firstEventId; static long baseTime=1436918400000L; static double delayUs=100.0;
  static boolean strict;
  static final String[] US_STATES="AZ,CA,ID,OR,WA,WY".split(",");
  static final String[] US_CITIES="Phoenix,Los Angeles,San Francisco,Boise,Portland,Bend,Redmond,Seattle,Kent,Cheyenne".split(",");
  static final String[] FIRST_NAMES="Peter,Paul,Luke,John,Saul,Vicky,Kate,Julie,Sarah,Deiter,Walter".split(",");
  static final String[] LAST_NAMES="Shultz,Abrams,Spencer,White,Bartels,Walton,Smith,Jones,Noris".split(",");
  static final String[] HOT_CHANNELS={"Google","Facebook","Baidu","Apple"};
  static String[] hotUrls=new String[4], urls=new String[10000];
  static String nextString(Random r,int max){return nextString(r,max,' ');}
  static String nextString(Random r,int max,char special){int len=3+r.nextInt(max-3);StringBuilder sb=new StringBuilder();while(len-->0){if(r.nextInt(13)==0)sb.append(special);else sb.append((char)('a'+r.nextInt(26)));}return sb.toString().trim();}
  static String nextExactString(Random r,int length){StringBuilder sb=new StringBuilder();int rnd=0,n=0;while(length-->0){if(n==0){rnd=r.nextInt();n=6;}sb.append((char)('a'+rnd%26));rnd/=26;n--;}return sb.toString();}
  static String nextExtra(Random r,int cur,int avg){if(cur>avg)return "";avg-=cur;int delta=(int)Math.round(avg*0.2);int min=avg-delta;int size=min+(delta==0?0:r.nextInt(2*delta));return nextExactString(r,size);}
  static long nextLong(Random r,long n){if(n<Integer.MAX_VALUE)return r.nextInt((int)n);return Math.abs(r.nextLong()%n);}
  static long nextPrice(Random r){double d=r.nextDouble()*6.0;return Math.round((strict?StrictMath.pow(10.0,d):Math.pow(10.0,d))*100.0);}
  static long ts(long n){return baseTime+(long)(n*delayUs)/1000L;}
  static long lastPerson(long id){long e=id/totalP,o=id%totalP;if(o>=personP)o=personP-1;return e*personP+o;}
  static long lastAuction(long id){long e=id/totalP,o=id%totalP;if(o<personP){e--;o=auctionP-1;}else if(o>=personP+auctionP){o=auctionP-1;}else{o-=personP;}return e*auctionP+o;}
  static long nextPersonId(long id,Random r){long num=lastPerson(id)+1;long act=Math.min(num,numActivePeople);long n=nextLong(r,act+10);return num-act+n;}
  static long nextAuctionId(long id,Random r){long min=Math.max(lastAuction(id)-numInFlightAuctions,0);long max=lastAuction(id);return min+nextLong(r,max-min+1+10);}
  static String baseUrl(Random r){return "https://www.nexmark.com/"+nextString(r,5,'_')+'/'+nextString(r,5,'_')+'/'+nextString(r,5,'_')+'/'+"item.htm?query=1";}
  public static void main(String[] a){
    long count=Long.parseLong(a[0]); pad=a[1].equals("1"); seed=Long.parseLong(a[2]); firstEventId=Long.parseLong(a[3]); strict=a.length>4&&a[4].equals("strict");
    if (a.length>5) { delayUs = 1000000.0 / Double.parseDouble(a[5]); }
    if (a.length>7) { numActivePeople = Integer.parseInt(a[6]); numInFlightAuctions = Integer.parseInt(a[7]); }
    for(int c=0;c<10000;c++){Random r=new Random(c);String u=baseUrl(r);if(r.nextInt(10)>0)u=u+"&channel_id="+Math.abs(Integer.reverse(c));urls[c]=u;}
    for(int i=0;i<4;i++){hotUrls[i]=baseUrl(new Random(10000+i));}
    StringBuilder sb=new StringBuilder(); java.io.PrintStream out=new java.io.PrintStream(new java.io.BufferedOutputStream(System.out,1<<16));
    for(long n=0;n<count;n++){
      long id=firstEventId+n; Random r=new Random(id^seed); long t=ts(n); long rem=id%totalP;
      if(rem<personP){
        long pid=lastPerson(id)+FIRST_PERSON_ID;
        String name=FIRST_NAMES[r.nextInt(11)]+" "+LAST_NAMES[r.nextInt(9)];
        String email=nextString(r,7)+"@"+nextString(r,5)+".com";
        StringBuilder cc=new StringBuilder();for(int i=0;i<4;i++){if(i>0)cc.append(' ');cc.append(String.format("%04d",r.nextInt(10000)));}
        String city=US_CITIES[r.nextInt(10)]; String state=US_STATES[r.nextInt(6)];
        String extra=pad?nextExtra(r,8+name.length()+email.length()+cc.length()+city.length()+state.length(),avgPerson):"";
        out.println("P|"+pid+"|"+name+"|"+email+"|"+cc+"|"+city+"|"+state+"|"+t+"|"+extra);
      } else if(rem<personP+auctionP){
        long aid=lastAuction(id)+FIRST_AUCTION_ID; long seller;
        if(r.nextInt(hotSellersRatio)>0) seller=(lastPerson(id)/100)*100; else seller=nextPersonId(id,r);
        seller+=FIRST_PERSON_ID;
        long cat=FIRST_CATEGORY_ID+r.nextInt(5); long ib=nextPrice(r);
        long numEv=((long)numInFlightAuctions*totalP)/auctionP; long fut=ts(n+numEv); long hor=fut-t;
        long exp=t+1L+nextLong(r,Math.max(hor*2,1L));
        String nm=nextString(r,20), desc=nextString(r,100); long res=ib+nextPrice(r);
        String extra=pad?nextExtra(r,8+nm.length()+desc.length()+8+8+8+8+8,avgAuction):"";
        out.println("A|"+aid+"|"+nm+"|"+desc+"|"+ib+"|"+res+"|"+t+"|"+exp+"|"+seller+"|"+cat+"|"+extra);
      } else {
        long auction; if(r.nextInt(hotAuctionRatio)>0) auction=(lastAuction(id)/100)*100; else auction=nextAuctionId(id,r); auction+=FIRST_AUCTION_ID;
        long bidder; if(r.nextInt(hotBiddersRatio)>0) bidder=(lastPerson(id)/100)*100+1; else bidder=nextPersonId(id,r); bidder+=FIRST_PERSON_ID;
        long price=nextPrice(r); String ch,url;
        if(r.nextInt(2)>0){int i=r.nextInt(4);ch=HOT_CHANNELS[i];url=hotUrls[i];} else {int c=r.nextInt(10000);ch="channel-"+c;url=urls[c];}
        String extra=pad?nextExtra(r,32,avgBid):"";
        out.println("B|"+auction+"|"+bidder+"|"+price+"|"+ch+"|"+url+"|"+t+"|"+extra);
      }
    }
    out.flush();
  }
}
