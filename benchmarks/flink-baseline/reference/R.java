import java.util.Random;
public class R { public static void main(String[] a){
  long[] seeds = {0, 42, -1, 1L<<47, 123456789012345L, -98765432109876L, 1000, 999999};
  StringBuilder sb = new StringBuilder();
  for (long s : seeds) { Random r = new Random(s);
    sb.append(s).append(":");
    for (int i=0;i<5;i++) sb.append(r.nextInt()).append(",");
    for (int b : new int[]{1,2,3,7,10,13,26,100,1000,10000,1<<30,Integer.MAX_VALUE, 1073741825}) sb.append(r.nextInt(b)).append(",");
    sb.append(r.nextDouble()).append(",").append(r.nextLong()).append("\n");
  }
  System.out.print(sb);
}}
