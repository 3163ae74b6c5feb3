// The platform's ObjectID example.
return {
  date: new ObjectID(new Date()),
  dateDate: new ObjectID(new Date()).toDate(),
  id: new ObjectID(),
  idDate: new ObjectID().toDate(),
  str: new ObjectID('4a232bca18759fcbdef24855'),
  strDate: new ObjectID('4a232bca18759fcbdef24855').toDate(),
  ts: new ObjectID('4a232bca18759fcbdef24855').getTimestamp()
}
