package dev.sluice.nexmark;

/** A person registering (model.ts Person). A Flink POJO: public fields, no-arg constructor. */
public class Person {
  /** From 1000 (FIRST_PERSON_ID). */
  public long id;
  public String name;
  public String emailAddress;
  public String creditCard;
  public String city;
  public String state;
  /** Registration time, epoch ms. */
  public long dateTime;
  /** '' unless padding is on. */
  public String extra;

  public Person() {}

  public Person(long id, String name, String emailAddress, String creditCard, String city, String state, long dateTime, String extra) {
    this.id = id;
    this.name = name;
    this.emailAddress = emailAddress;
    this.creditCard = creditCard;
    this.city = city;
    this.state = state;
    this.dateTime = dateTime;
    this.extra = extra;
  }
}
